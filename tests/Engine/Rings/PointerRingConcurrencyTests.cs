using Datapath.Engine.Rings;

namespace Datapath.Tests.Engine.Rings;

/// <summary>
/// Several producer and consumer threads share one ring; every object must arrive exactly once.
/// An object encodes (producer, sequence) so each consumer can also check that objects from one
/// producer reach it in the order that producer sent them (the ring is FIFO per producer).
/// Termination needs no clock: consumers stop once the producers are done and the ring is empty.
/// </summary>
public class PointerRingConcurrencyTests
{
    public enum Style { Bulk, Burst, Mixed, Single }

    const int ObjectsPerProducer = 50_000;

    static nint Encode(int producer, int sequence) => ((nint)producer << 32) | (nint)(uint)sequence;
    static int ProducerOf(nint obj) => (int)((long)obj >> 32);
    static int SequenceOf(nint obj) => (int)(uint)obj;

    [Theory]
    [InlineData(Style.Bulk)]
    [InlineData(Style.Burst)]
    [InlineData(Style.Mixed)]
    [InlineData(Style.Single)]
    public void Single_producer_single_consumer_delivers_each_object_once_in_order(Style style)
        => RunAndCheck(RingFlags.SingleProducerSingleConsumer, producers: 1, consumers: 1, style);

    [Theory]
    [InlineData(2, 2, Style.Bulk)]
    [InlineData(2, 2, Style.Burst)]
    [InlineData(3, 2, Style.Mixed)]
    [InlineData(2, 4, Style.Mixed)]
    [InlineData(4, 4, Style.Mixed)]
    [InlineData(2, 2, Style.Single)]
    public void Multi_producer_multi_consumer_delivers_each_object_once(int producers, int consumers, Style style)
        => RunAndCheck(RingFlags.None, producers, consumers, style);

    [Fact]
    public void Multi_producers_into_a_single_consumer_deliver_each_object_once()
        => RunAndCheck(RingFlags.SingleConsumer, producers: 3, consumers: 1, Style.Mixed);

    static void RunAndCheck(RingFlags flags, int producers, int consumers, Style style)
    {
        // A small ring keeps it full and empty often, which is where the races are.
        using var ring = new PointerRing("concurrent", 128, flags);
        var timesSeen = new int[producers * ObjectsPerProducer];
        var orderErrors = new string?[consumers];
        int producersRunning = producers;

        var threads = new List<Thread>();
        for (int p = 0; p < producers; p++)
        {
            int producer = p;
            threads.Add(new Thread(() =>
            {
                Produce(ring, producer, style);
                Interlocked.Decrement(ref producersRunning);
            }));
        }
        for (int c = 0; c < consumers; c++)
        {
            int consumer = c;
            threads.Add(new Thread(() =>
                orderErrors[consumer] = Consume(ring, consumer, producers, style, timesSeen, () => Volatile.Read(ref producersRunning) == 0)));
        }
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();

        Assert.All(orderErrors, Assert.Null);
        for (int i = 0; i < timesSeen.Length; i++)
            if (timesSeen[i] != 1)
                Assert.Fail($"object {i % ObjectsPerProducer} of producer {i / ObjectsPerProducer} arrived {timesSeen[i]} times");
        Assert.True(ring.IsEmpty);
    }

    static void Produce(PointerRing ring, int producer, Style style)
    {
        var batch = new nint[32];
        int sent = 0, round = 0;
        while (sent < ObjectsPerProducer)
        {
            int size = style == Style.Single ? 1 : Math.Min(1 + round++ % batch.Length, ObjectsPerProducer - sent);   // 1..32
            for (int i = 0; i < size; i++) batch[i] = Encode(producer, sent + i);
            int moved = style == Style.Single ? (ring.TryEnqueue(batch[0]) ? 1 : 0) : UseBulk(style, round)
                ? ring.EnqueueBulk(batch.AsSpan(0, size))
                : ring.EnqueueBurst(batch.AsSpan(0, size));
            if (moved == 0) Thread.Yield();   // 2 cores, up to 8 threads: let a consumer run
            sent += moved;
        }
    }

    static string? Consume(PointerRing ring, int consumer, int producers, Style style, int[] timesSeen, Func<bool> producersDone)
    {
        var batch = new nint[32];
        var lastSequence = new int[producers];
        Array.Fill(lastSequence, -1);
        string? orderError = null;
        int round = 0;
        while (true)
        {
            int size = 1 + round++ % batch.Length;
            int moved = style == Style.Single ? (ring.TryDequeue(out batch[0]) ? 1 : 0) : UseBulk(style, round)
                ? ring.DequeueBulk(batch.AsSpan(0, size))
                : ring.DequeueBurst(batch.AsSpan(0, size));
            if (moved == 0)
            {
                // Read "done" before "empty": an object published after the emptiness check
                // could otherwise be left behind.
                if (producersDone() && ring.IsEmpty) return orderError;
                Thread.Yield();
                continue;
            }
            for (int i = 0; i < moved; i++)
            {
                int producer = ProducerOf(batch[i]), sequence = SequenceOf(batch[i]);
                Interlocked.Increment(ref timesSeen[producer * ObjectsPerProducer + sequence]);
                if (sequence <= lastSequence[producer])
                    orderError ??= $"consumer {consumer}: producer {producer}'s object {sequence} came after {lastSequence[producer]}";
                lastSequence[producer] = sequence;
            }
        }
    }

    static bool UseBulk(Style style, int round) => style switch
    {
        Style.Bulk => true,
        Style.Burst => false,
        _ => round % 2 == 0,
    };
}
