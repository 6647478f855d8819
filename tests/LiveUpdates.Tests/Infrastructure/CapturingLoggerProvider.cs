using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>One log entry as a provider saw it, formatted.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message);

/// <summary>A logger provider that keeps every entry at or above <see cref="MinimumLevel"/>, for log assertions.</summary>
internal sealed class CapturingLoggerProvider(LogLevel minimumLevel = LogLevel.Information) : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public LogLevel MinimumLevel { get; } = minimumLevel;

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>A logger factory over this provider alone.</summary>
    public ILoggerFactory CreateFactory() => LoggerFactory.Create(b => b.ClearProviders().SetMinimumLevel(MinimumLevel).AddProvider(this));

    public IEnumerable<LogEntry> At(LogLevel level) => Entries.Where(e => e.Level == level);

    /// <summary>Waits until an entry at <paramref name="level"/> contains <paramref name="text"/>, and returns it.</summary>
    public async Task<LogEntry> WaitForAsync(LogLevel level, string text)
    {
        LogEntry? found = null;
        await Wait.UntilAsync(() => (found = At(level).FirstOrDefault(e => e.Message.Contains(text, StringComparison.Ordinal))) is not null,
            $"a {level} log line containing \"{text}\"; logged:\n{string.Join("\n", Entries.Select(e => $"{e.Level} {e.Message}"))}");
        return found!;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception)));
            }
        }
    }
}
