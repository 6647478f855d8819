using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Playwright;

namespace LiveUpdates.BrowserTests.Infrastructure;

/// <summary>
/// A page of the Next.js dashboard: its WebSockets and every frame they received (packed frames split into their
/// messages), and every console error, page error and hydration warning it logged — a test fails on any of them
/// (<see cref="AssertNoErrors"/>) unless it names the ones it provokes.
/// </summary>
internal sealed class NextDashboardPage
{
    private readonly ConcurrentQueue<string> _frames = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentQueue<string> _socketUrls = new();
    private readonly string _mark = Guid.NewGuid().ToString("N");
    private int _sockets;
    private int _open;

    public NextDashboardPage(IPage page)
    {
        Page = page;
        page.WebSocket += (_, ws) =>
        {
            Interlocked.Increment(ref _sockets);
            _socketUrls.Enqueue(ws.Url);
            Interlocked.Increment(ref _open);
            ws.FrameReceived += (_, frame) => _frames.Enqueue(frame.Text ?? "");
            ws.Close += (_, _) => Interlocked.Decrement(ref _open);
        };
        page.Console += (_, message) =>
        {
            // Errors, and any warning about hydration (React logs some of its hydration mismatches as warnings).
            if (message.Type == "error" || (message.Type == "warning" && message.Text.Contains("hydrat", StringComparison.OrdinalIgnoreCase)))
            {
                _problems.Enqueue($"console.{message.Type}: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => _problems.Enqueue($"page error: {error}");
    }

    public IPage Page { get; }

    public int Sockets => Volatile.Read(ref _sockets);

    public int OpenSockets => Volatile.Read(ref _open);

    /// <summary>The URL of every WebSocket the page opened.</summary>
    public IReadOnlyList<string> SocketUrls => _socketUrls.ToList();

    /// <summary>The console errors, page errors and hydration warnings so far.</summary>
    public IReadOnlyList<string> Problems => _problems.ToList();

    public Task MarkAsync() => Page.EvaluateAsync($"() => {{ window.__testMark = '{_mark}'; }}");

    public async Task AssertNotReloadedAsync() =>
        Assert.That(await Page.EvaluateAsync<string?>("() => window.__testMark ?? null"), Is.EqualTo(_mark), "the page was not reloaded");

    /// <summary>
    /// Fails on any console error, page error or hydration warning, except those containing one of
    /// <paramref name="expected"/> (what the test provokes on purpose, e.g. the browser's log of a refused request).
    /// </summary>
    public void AssertNoErrors(params string[] expected)
    {
        var unexpected = Problems.Where(p => !expected.Any(e => p.Contains(e, StringComparison.Ordinal))).ToList();
        Assert.That(unexpected, Is.Empty, $"console errors, page errors or hydration warnings on {Page.Url}");
    }

    public IEnumerable<string> Frames() => _frames;

    public List<JsonElement> Messages() =>
        _frames.SelectMany(f => f.Split('\n')).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
}
