using LiveUpdates;
using LiveUpdates.AspNetCore.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the ASP.NET Core transport for LiveUpdates: <c>services.AddLiveUpdates(…).UseAspNetCore()</c>.</summary>
public static class LiveUpdatesAspNetCoreBuilderExtensions
{
    /// <summary>
    /// Serves LiveUpdates on an endpoint of the host's ASP.NET Core app instead of the server's own HttpListener
    /// port: the HttpListener does not start (<see cref="LiveUpdatesOptions.HttpListenerEnabled"/> is turned off), and
    /// <c>app.MapLiveUpdates("/live")</c> maps the endpoint. The host fails to start when no endpoint is mapped, and
    /// when <see cref="LiveUpdatesOptions.TrustedProxies"/> is set (ASP.NET Core's forwarded-headers middleware decides
    /// the client's address instead). Calling it more than once registers the services once.
    /// </summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <returns>The same builder.</returns>
    public static ILiveUpdatesBuilder UseAspNetCore(this ILiveUpdatesBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(AspNetCoreTransport)))
        {
            return builder;
        }

        services.AddSingleton<AspNetCoreTransport>();
        services.PostConfigure<LiveUpdatesOptions>(static o => o.HttpListenerEnabled = false);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LiveUpdatesOptions>, AspNetCoreOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, AspNetCoreTransportLifetime>());
        return builder;
    }
}
