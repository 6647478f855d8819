using System.Diagnostics;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>1,000 real clients drop and reconnect at once while a guild's events keep flowing.</summary>
[TestFixture]
public sealed class ReconnectStormTests
{
    private const string Guild = "111111111111111111";
    private const string Event = "moderation:infraction_created";
    private const string Done = "moderation:stats_updated";

    [Test]
    public async Task ReconnectStorm_EveryClientEndsWithACompleteOrderedSequence_OrAnExplicitRefetch()
    {
        const int Clients = 1000;
        const int Parallelism = 50;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HistoryCapacity = 5_000; // more than the stream's length: every client can recover
            o.AuthTimeout = TimeSpan.FromMinutes(1);
            o.MaxConnectionsPerAddress = 10_000; // every client comes from 127.0.0.1
            o.MaxConnectionsPerUser = 10_000; // and is user 1
        });
        var token = TestTokens.Create("1", [Guild]);
        var watch = Stopwatch.StartNew();

        var first = await ForAllAsync(Clients, Parallelism, async _ =>
        {
            var client = await server.ConnectAsync();
            await client.ExpectAsync("connected");
            await client.AuthenticateAsync(token);
            var subscribed = await client.SubscribeAsync(Guild);
            return (Client: client, From: subscribed.GetProperty("data").GetProperty("seq").GetInt64() + 1);
        });
        var connectSeconds = watch.Elapsed.TotalSeconds;

        // A producer broadcasts a steady stream; early in it, every client's connection dies at the same moment.
        const int StreamLength = 1_000;
        var producer = Task.Run(async () =>
        {
            for (var n = 0; n < StreamLength; n++)
            {
                server.Manager.Broadcast(Guild, Event, new { n });
                await Task.Delay(1);
            }

            return StreamLength;
        });
        await Wait.UntilAsync(() => server.Manager.InMemoryBroker!.Published >= 200, "the stream is under way");

        foreach (var (client, _) in first)
        {
            client.Socket.Abort();
        }

        var beforeDrop = await ForAllAsync(Clients, Parallelism, async i =>
        {
            var (client, from) = first[i];
            await Wait.ForAsync(client.ReaderCompletion, "reader of a dropped client");
            var seqs = client.TakeAllBuffered().Where(m => m.GetProperty("event").GetString() == Event).Select(m => m.GetProperty("seq").GetInt64()).ToList();
            await client.DisposeAsync();
            return (From: from, Seqs: seqs);
        });

        watch.Restart();
        var second = await ForAllAsync(Clients, Parallelism, async i =>
        {
            var client = await server.ConnectAsync();
            await client.ExpectAsync("connected");
            await client.AuthenticateAsync(token);
            var (from, seqs) = beforeDrop[i];
            var subscribed = await client.SubscribeAsync(Guild, seqs.Count > 0 ? seqs[^1] : from - 1, server.Manager.Epoch);
            return (Client: client, Subscribed: subscribed);
        });
        var reconnectSeconds = watch.Elapsed.TotalSeconds;

        var events = await Wait.ForAsync(producer, "the stream ends", TimeSpan.FromMinutes(2));
        server.Manager.Broadcast(Guild, Done);

        var results = await ForAllAsync(Clients, Parallelism, async i =>
        {
            var (client, subscribed) = second[i];
            var seqs = new List<long>(beforeDrop[i].Seqs);
            var recovered = subscribed.GetProperty("data").GetProperty("recovered").GetBoolean();
            long from = beforeDrop[i].From;
            if (!recovered)
            {
                // The explicit signal: refetch, then live events continue from the position given.
                seqs.Clear();
                from = subscribed.GetProperty("data").GetProperty("seq").GetInt64() + 1;
            }

            while (true)
            {
                var message = await client.NextAsync(TimeSpan.FromSeconds(30));
                seqs.Add(message.GetProperty("seq").GetInt64());
                if (message.GetProperty("event").GetString() == Done)
                {
                    break;
                }
            }

            await client.DisposeAsync();
            var last = seqs[^1];
            var missing = (last - from + 1) - seqs.Distinct().LongCount();
            var duplicates = seqs.Count - seqs.Distinct().Count();
            var ordered = seqs.Zip(seqs.Skip(1)).All(p => p.Second > p.First);
            return (Recovered: recovered, Missing: missing, Duplicates: duplicates, Ordered: ordered, Count: seqs.Count);
        });

        var refetch = results.Count(r => !r.Recovered);
        var missed = results.Sum(r => r.Missing);
        var duplicated = results.Sum(r => r.Duplicates);
        TestContext.Out.WriteLine(
            $"reconnect storm: {Clients} clients, {events} events in the stream, connect {connectSeconds:0.0} s, " +
            $"reconnect+recover {reconnectSeconds:0.0} s, recovered {Clients - refetch}, refetch signals {refetch}, " +
            $"missed {missed}, duplicates {duplicated}, deliveries {results.Sum(r => (long)r.Count)}");

        Assert.Multiple(() =>
        {
            Assert.That(missed, Is.Zero, "no client misses an event without being told to refetch");
            Assert.That(duplicated, Is.Zero, "no client sees an event twice");
            Assert.That(results.All(r => r.Ordered), Is.True, "every client's events are in order");
            Assert.That(refetch, Is.Zero, "within the history bound every client recovers");
        });
    }

    private static async Task<T[]> ForAllAsync<T>(int count, int parallelism, Func<int, Task<T>> action)
    {
        var results = new T[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (i, _) => results[i] = await action(i));
        return results;
    }
}
