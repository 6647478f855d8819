namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Returned by <c>AddLiveUpdates()</c>: the optional parts of LiveUpdates are added on it explicitly, e.g.
/// <c>services.AddLiveUpdates(…).AddMongoPermissionStore()</c> from the <c>LiveUpdates.MongoDB</c> package.
/// </summary>
/// <remarks>A package that adds a part does so with an extension method on this interface that registers its services in <see cref="Services"/>.</remarks>
public interface ILiveUpdatesBuilder
{
    /// <summary>Gets the service collection LiveUpdates is registered in.</summary>
    IServiceCollection Services { get; }
}
