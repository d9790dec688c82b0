using Datapath.Engine.Rings;

namespace Datapath.Tests.Engine.Rings;

/// <summary>
/// The four indexes are free-running uint32s; slot = index &amp; mask, and every distance
/// (count, free space) is a uint subtraction that stays right across 2^32. Instead of 2^32
/// operations, the ring is started just below the wrap.
/// </summary>
public class PointerRingWraparoundTests
{
    [Theory]
    [InlineData(RingFlags.SingleProducerSingleConsumer)]
    [InlineData(RingFlags.None)]
    public void Counts_and_order_survive_the_32_bit_wrap(RingFlags flags)
    {
        using var ring = new PointerRing("wrap", 8, flags);
        ring.StartIndexesAt(uint.MaxValue - 2);   // 3 operations before the indexes wrap to 0

        nint next = 1, expected = 1;
        var burst = new nint[5];
        for (int round = 0; round < 40; round++)   // crosses the wrap, then keeps going
        {
            int free = ring.FreeCount;
            for (int i = 0; i < burst.Length; i++) burst[i] = next + i;
            int moved = ring.EnqueueBurst(burst);
            Assert.Equal(Math.Min(free, burst.Length), moved);
            next += moved;
            Assert.Equal(ring.Capacity, ring.Count + ring.FreeCount);

            var got = new nint[3];
            Assert.Equal(3, ring.DequeueBulk(got));
            foreach (nint obj in got) Assert.Equal(expected++, obj);
        }
    }

    [Theory]
    [InlineData(RingFlags.SingleProducerSingleConsumer)]
    [InlineData(RingFlags.None)]
    public void A_full_ring_stays_full_across_the_wrap(RingFlags flags)
    {
        using var ring = new PointerRing("wrap-full", 4, flags);
        ring.StartIndexesAt(uint.MaxValue - 1);   // the producer index wraps mid-bulk

        Assert.Equal(4, ring.EnqueueBulk([1, 2, 3, 4]));
        Assert.True(ring.IsFull);
        Assert.Equal(0, ring.FreeCount);
        Assert.False(ring.TryEnqueue(5));

        var all = new nint[4];
        Assert.Equal(4, ring.DequeueBulk(all));
        Assert.Equal([1, 2, 3, 4], all);
        Assert.True(ring.IsEmpty);
    }

    [Fact]
    public void A_small_ring_driven_through_many_laps_never_loses_count()
    {
        // 2^20 objects through a 2-slot ring: 2^19 laps of the slot array, same arithmetic as the
        // 2^32 wrap (the mask drops the high bits either way).
        using var ring = new PointerRing("laps", 2, RingFlags.SingleProducerSingleConsumer);
        ring.StartIndexesAt(uint.MaxValue - (1u << 19));
        for (nint i = 0; i < 1 << 20; i++)
        {
            Assert.True(ring.TryEnqueue(i));
            Assert.True(ring.TryDequeue(out nint obj));
            if (obj != i) Assert.Fail($"object {i} came out as {obj}");
        }
        Assert.True(ring.IsEmpty);
    }
}
