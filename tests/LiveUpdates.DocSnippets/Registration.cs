using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace LiveUpdates.DocSnippets;

public static class Registration
{
    public static void PermissionRegistry(IServiceCollection services) =>
        services.AddLiveUpdates(o =>
        {
            #region security-registry
            o.PermissionCategories["moderation"] = ["moderation.manage_config", "moderation.view_infractions"];
            o.PermissionCategories["minecraft"] = ["minecraft.manage_config"];
            o.EventCategories["attachment-blocker"] = "moderation"; // an event plugin whose category has another name
            #endregion
        });

    public static void Mongo(IServiceCollection services, IConfiguration configuration)
    {
        #region security-mongo
        services.AddLiveUpdates(configuration.GetSection("LiveUpdates"))
            .AddMongoPermissionStore(configuration.GetSection("LiveUpdates:Mongo")); // or (), ("mongodb://…"), (o => …)
        #endregion
    }

    public static void Redis(HostApplicationBuilder builder)
    {
        #region scale-out-redis
        builder.Services.AddLiveUpdates(builder.Configuration.GetSection("LiveUpdates"))
            .AddRedis(builder.Configuration.GetSection("LiveUpdates:Redis")); // or .AddRedis("redis:6379"); REDIS_URL is honoured
        #endregion
    }

    public static void Health(HostApplicationBuilder builder)
    {
        #region operations-health
        builder.Services.AddLiveUpdates(builder.Configuration.GetSection("LiveUpdates")).AddHealthCheck(); // name "liveupdates"
        // ASP.NET Core: app.MapHealthChecks("/health");  elsewhere: HealthCheckService.CheckHealthAsync()
        #endregion
    }

    public static void OpenTelemetry(HostApplicationBuilder builder)
    {
        #region operations-opentelemetry
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter("LiveUpdates")                     // every instrument of the table above
                .AddOtlpExporter()                           // OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://otel-collector:4317
                .AddPrometheusHttpListener(o => o.Port = 9464)); // GET localhost:9464/metrics; o.Host for another address
        #endregion
    }
}
