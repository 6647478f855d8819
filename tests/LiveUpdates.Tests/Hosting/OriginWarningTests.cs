using System.Collections.Concurrent;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Tests.Hosting;

/// <summary>A browser-facing port that accepts any origin is called out at start-up outside Development.</summary>
[TestFixture]
[NonParallelizable] // hosts set the process-wide Broadcast facade
public sealed class OriginWarningTests
{
    [TestCase("Production", false, true)]
    [TestCase("Development", false, false)]
    [TestCase("Production", true, false)]
    public async Task StartUp_WarnsAboutAnyOrigin_OnlyOutsideDevelopment_AndOnlyWithoutAnAllowList(string environment, bool allowList, bool warns)
    {
        var logs = new CapturingLoggerProvider();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = environment });
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Services.AddLiveUpdates(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = Ports.GetFree();
            o.ConnectionTokenKey = TestTokens.Secret;
            if (allowList)
            {
                o.AllowedOrigins.Add("https://dashboard.example");
            }
        });
        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();

        var warning = logs.Messages.FirstOrDefault(m => m.Contains("any origin", StringComparison.Ordinal));
        Assert.That(warning is not null, Is.EqualTo(warns), warning ?? "no warning");
        if (warns)
        {
            Assert.That(warning, Does.Contain("LiveUpdates:AllowedOrigins"), "the message names the setting");
        }
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Messages.Enqueue(formatter(state, exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
