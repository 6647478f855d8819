using LiveUpdates.Internal.Delivery;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class SendQueueTests
{
    [Test]
    public void Enqueue_BeyondCount_Full()
    {
        var queue = new SendQueue(maxCount: 3, maxBytes: 1_000);
        for (var i = 0; i < 3; i++)
        {
            Assert.That(queue.Enqueue(Event("a:b", i), coalesce: false), Is.EqualTo(EnqueueResult.Queued));
        }

        Assert.That(queue.Enqueue(Event("a:b", 3), coalesce: false), Is.EqualTo(EnqueueResult.Full));
        Assert.That(queue.Count, Is.EqualTo(3));
    }

    [Test]
    public void Enqueue_BeyondBytes_Full()
    {
        var queue = new SendQueue(maxCount: 100, maxBytes: 25);
        Assert.That(queue.Enqueue(Event("a:b", 1, size: 20), coalesce: false), Is.EqualTo(EnqueueResult.Queued));
        Assert.That(queue.Enqueue(Event("a:b", 2, size: 6), coalesce: false), Is.EqualTo(EnqueueResult.Full));
        Assert.That(queue.Bytes, Is.EqualTo(20));
    }

    [Test]
    public void TrimExcess_AfterABurst_QueueStillFifo_WhenItGrowsAgain()
    {
        // A burst grows the queue past its shrink threshold; draining it gives the memory back, and it keeps working.
        var queue = new SendQueue(maxCount: 1000, maxBytes: 1_000_000);
        for (var burst = 0; burst < 3; burst++)
        {
            for (var i = 1; i <= 300; i++)
            {
                Assert.That(queue.Enqueue(Event("a:b", i), coalesce: false), Is.EqualTo(EnqueueResult.Queued));
            }

            for (var i = 1; i <= 300; i++)
            {
                Assert.That(queue.TryDequeue(out var frame), Is.True);
                Assert.That(frame.Seq, Is.EqualTo(i));
            }

            Assert.That(queue.TryDequeue(out _), Is.False);
            Assert.That((queue.Count, queue.Bytes), Is.EqualTo((0, 0L)));
            if (burst == 1)
            {
                for (var sweep = 0; sweep < 20; sweep++)
                {
                    queue.TrimExcess();
                }
            }
        }
    }

    [Test]
    public void Dequeue_IsFifo_AcrossGrowthAndWraparound()
    {
        var queue = new SendQueue(maxCount: 1000, maxBytes: 1_000_000);
        var next = 0L;
        var expected = 0L;
        for (var round = 0; round < 50; round++)
        {
            for (var i = 0; i < round % 7 + 1; i++)
            {
                queue.Enqueue(Event("a:b", ++next), coalesce: false);
            }

            for (var i = 0; i < round % 5 + 1 && queue.TryDequeue(out var frame); i++)
            {
                Assert.That(frame.Seq, Is.EqualTo(++expected));
            }
        }

        while (queue.TryDequeue(out var frame))
        {
            Assert.That(frame.Seq, Is.EqualTo(++expected));
        }

        Assert.That(expected, Is.EqualTo(next));
        Assert.That(queue.Bytes, Is.Zero);
    }

    [Test]
    public void Enqueue_LatestValue_ReplacesTheQueuedOneOfTheSameNameAndGuild_AtTheEnd()
    {
        var queue = new SendQueue(maxCount: 100, maxBytes: 100_000);
        queue.Enqueue(Event("m:config_updated", 1, latest: true), coalesce: true);
        queue.Enqueue(Event("m:rule_created", 2), coalesce: true);
        queue.Enqueue(Event("m:config_updated", 3, latest: true, guild: "other"), coalesce: true);

        var result = queue.Enqueue(Event("m:config_updated", 4, latest: true), coalesce: true);

        Assert.That(result, Is.EqualTo(EnqueueResult.Coalesced));
        Assert.That(Drain(queue), Is.EqualTo(new long[] { 2, 3, 4 }));
    }

    [Test]
    public void Enqueue_LatestValue_WithoutCoalescing_KeepsBoth()
    {
        var queue = new SendQueue(maxCount: 100, maxBytes: 100_000);
        queue.Enqueue(Event("m:config_updated", 1, latest: true), coalesce: false);
        queue.Enqueue(Event("m:config_updated", 2, latest: true), coalesce: false);
        Assert.That(Drain(queue), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public void EnqueueReplay_OutsideTheBounds_IsNotCounted_AndNeverCoalesced()
    {
        var queue = new SendQueue(maxCount: 2, maxBytes: 100);
        for (var i = 1; i <= 10; i++)
        {
            Assert.That(queue.EnqueueReplay(Event("m:config_updated", i, size: 50, latest: true), outsideBounds: true), Is.EqualTo(EnqueueResult.Queued));
        }

        // Live frames still get the whole bound on top of the replay.
        Assert.That(queue.HoldsReplayOutsideBounds, Is.True);
        Assert.That(queue.Enqueue(Event("m:rule_created", 11, size: 50), coalesce: true), Is.EqualTo(EnqueueResult.Queued));
        Assert.That(queue.Enqueue(Event("m:config_updated", 12, size: 50, latest: true), coalesce: true), Is.EqualTo(EnqueueResult.Queued));
        Assert.That(queue.Enqueue(Event("m:rule_created", 13, size: 50), coalesce: true), Is.EqualTo(EnqueueResult.Full));
        Assert.That(Drain(queue), Is.EqualTo(Enumerable.Range(1, 12).Select(i => (long)i)));
        Assert.That(queue.HoldsReplayOutsideBounds, Is.False);
    }

    [Test]
    public void EnqueueReplay_WithinTheBounds_CountsLikeALiveFrame()
    {
        var queue = new SendQueue(maxCount: 3, maxBytes: 120);
        queue.EnqueueReplay(Event("m:rule_created", 1, size: 50), outsideBounds: true);
        Assert.That(queue.EnqueueReplay(Event("m:rule_created", 2, size: 50), outsideBounds: false), Is.EqualTo(EnqueueResult.Queued));
        Assert.That(queue.EnqueueReplay(Event("m:rule_created", 3, size: 50), outsideBounds: false), Is.EqualTo(EnqueueResult.Queued));
        Assert.That(queue.EnqueueReplay(Event("m:rule_created", 4, size: 50), outsideBounds: false), Is.EqualTo(EnqueueResult.Full), "over the byte bound");
        Assert.That(queue.Enqueue(Event("m:rule_created", 4, size: 50), coalesce: false), Is.EqualTo(EnqueueResult.Full), "live frames see the replay too");
        Assert.That(queue.EnqueueReplay(Event("m:rule_created", 4, size: 50), outsideBounds: false, boundFactor: 2), Is.EqualTo(EnqueueResult.Queued));
        Assert.That(Drain(queue), Is.EqualTo(Enumerable.Range(1, 4).Select(i => (long)i)));
    }

    private static List<long> Drain(SendQueue queue)
    {
        var seqs = new List<long>();
        while (queue.TryDequeue(out var frame))
        {
            seqs.Add(frame.Seq);
        }

        return seqs;
    }

    private static OutboundFrame Event(string name, long seq, int size = 10, bool latest = false, string guild = "1") =>
        OutboundFrame.Event(new byte[size], guild, name, seq, latest);
}
