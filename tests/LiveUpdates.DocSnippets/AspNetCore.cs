using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LiveUpdates.DocSnippets;

public static class AspNetCore
{
    public static void Map(string[] args)
    {
        #region aspnetcore-map
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddLiveUpdates(builder.Configuration.GetSection("LiveUpdates"))
            .UseAspNetCore();                      // the HttpListener does not start

        var app = builder.Build();
        app.UseForwardedHeaders();                 // behind a reverse proxy
        app.MapLiveUpdates("/live");               // wss://your-api.example.com/live
        app.Run();
        #endregion
    }
}
