using System.Globalization;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// The server process's log for the Redis scenario: with <c>LOADTEST_LOG_DIR</c> set, every message at
/// <see cref="LogLevel.Information"/> or above (the broker's repairs, stream losses and new epochs) is appended to
/// <c>server-&lt;port&gt;.log</c> in that directory, one line each with a UTC time; without it the server logs nothing.
/// </summary>
internal sealed class FileWarningLogger : ILoggerProvider
{
    private readonly StreamWriter _writer;
    private readonly object _gate = new();

    private FileWarningLogger(string path)
    {
        _writer = new StreamWriter(path, append: true) { AutoFlush = true };
    }

    /// <summary>A logger factory writing to <c>LOADTEST_LOG_DIR/server-&lt;port&gt;.log</c>, or <see langword="null"/> when the variable is unset.</summary>
    public static ILoggerFactory? FromEnvironment(int port)
    {
        if (Environment.GetEnvironmentVariable("LOADTEST_LOG_DIR") is not { Length: > 0 } dir)
        {
            return null;
        }

        Directory.CreateDirectory(dir);
        var provider = new FileWarningLogger(Path.Combine(dir, $"server-{port.ToString(CultureInfo.InvariantCulture)}.log"));
        return LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(provider));
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() => _writer.Dispose();

    private void Write(string line)
    {
        lock (_gate)
        {
            _writer.WriteLine(line);
        }
    }

    private sealed class Logger(FileWarningLogger owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var text = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}[{eventId.Id}] {formatter(state, exception)}";
            owner.Write(exception is null ? text : text + Environment.NewLine + exception);
        }
    }
}
