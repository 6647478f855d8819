using Microsoft.Extensions.DependencyInjection;

namespace LiveUpdates.Hosting.Internal;

/// <summary>The builder <c>AddLiveUpdates()</c> returns; it holds nothing but the service collection, so every call may create one.</summary>
internal sealed class LiveUpdatesBuilder(IServiceCollection services) : ILiveUpdatesBuilder
{
    public IServiceCollection Services { get; } = services;
}
