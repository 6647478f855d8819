using LiveUpdates.LoadTest.Clients;

namespace LiveUpdates.LoadTest;

/// <summary>
/// Subscribers in their own process, for a benchmark that runs the server in-process (BenchmarkDotNet's Broadcast()
/// benchmark): connects <c>count</c> clients, subscribes them to one guild, prints <c>ready</c>, keeps reading until its
/// standard input closes (the parent ended), then leaves.
/// </summary>
internal static class SubscriberProcess
{
    public static async Task<int> RunAsync(Uri uri, string token, string guildId, int count, bool batch)
    {
        var histogram = new LatencyHistogram();
        var clients = new LoadClient[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            clients[i] = await LoadClient.ConnectAsync(uri, token, batch);
            await clients[i].SubscribeAsync(guildId);
        });
        var readers = clients.Select(c => c.StartReading(histogram)).ToArray();
        Console.Out.WriteLine("ready");
        await Console.Out.FlushAsync();
        await Console.In.ReadToEndAsync();
        foreach (var c in clients)
        {
            c.Abort();
        }

        await Task.WhenAll(readers);
        return 0;
    }
}
