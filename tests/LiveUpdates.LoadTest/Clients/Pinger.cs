namespace LiveUpdates.LoadTest.Clients;

/// <summary>
/// The clients' keep-alive, as real ones send it: each connected client pings once every <c>seconds</c>, spread over
/// the interval (one slice of the clients each second), so a server's idle check can stay at its default.
/// </summary>
internal sealed class Pinger : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public Pinger(LoadClient?[] clients, int seconds)
    {
        _loop = Task.Run(() => LoopAsync(clients, Math.Max(1, seconds), _stop.Token));
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(15));
            _stop.Dispose();
        }
    }

    private static async Task LoopAsync(LoadClient?[] clients, int seconds, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var tick = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var slice = tick++ % seconds;
                var pings = new List<Task<bool>>();
                for (var i = slice; i < clients.Length; i += seconds)
                {
                    if (clients[i] is { } client)
                    {
                        pings.Add(client.PingAsync());
                    }
                }

                await Task.WhenAll(pings);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
