using Datapath.Engine.Rings;

namespace Datapath.Tests.Engine.Rings;

/// <summary>What one thread sees: bulk is all or nothing, burst takes what fits, counts add up.</summary>
public class PointerRingSemanticsTests
{
    static nint[] Objects(int count, int first = 1)
    {
        var objs = new nint[count];
        for (int i = 0; i < count; i++) objs[i] = first + i;
        return objs;
    }

    [Theory]
    [InlineData(RingFlags.SingleProducerSingleConsumer)]
    [InlineData(RingFlags.None)]
    public void A_new_ring_is_empty_with_every_slot_free(RingFlags flags)
    {
        using var ring = new PointerRing("new", 16, flags);

        Assert.Equal(16, ring.Capacity);
        Assert.Equal(0, ring.Count);
        Assert.Equal(16, ring.FreeCount);
        Assert.True(ring.IsEmpty);
        Assert.False(ring.IsFull);
        Assert.False(ring.TryDequeue(out _));
    }

    [Theory]
    [InlineData(RingFlags.SingleProducerSingleConsumer)]
    [InlineData(RingFlags.None)]
    public void Objects_come_out_in_the_order_they_went_in(RingFlags flags)
    {
        using var ring = new PointerRing("fifo", 16, flags);
        Assert.True(ring.TryEnqueue(10));
        Assert.Equal(3, ring.EnqueueBulk(Objects(3, first: 11)));

        var out4 = new nint[4];
        Assert.Equal(4, ring.DequeueBulk(out4));
        Assert.Equal(Objects(4, first: 10), out4);
    }

    [Theory]
    [InlineData(RingFlags.SingleProducerSingleConsumer)]
    [InlineData(RingFlags.None)]
    public void Bulk_enqueue_takes_all_or_nothing(RingFlags flags)
    {
        using var ring = new PointerRing("bulk-in", 8, flags);
        Assert.Equal(6, ring.EnqueueBulk(Objects(6)));

        Assert.Equal(0, ring.EnqueueBulk(Objects(3, first: 100)));   // 2 free: nothing moves
        Assert.Equal(6, ring.Count);

        Assert.Equal(2, ring.EnqueueBulk(Objects(2, first: 100)));   // exactly fits
        Assert.True(ring.IsFull);
        Assert.Equal(0, ring.FreeCount);
    }

    [Theory]
    [InlineData(RingFlags.SingleProducerSingleConsumer)]
    [InlineData(RingFlags.None)]
    public void Bulk_dequeue_takes_all_or_nothing(RingFlags flags)
    {
        using var ring = new PointerRing("bulk-out", 8, flags);
        ring.EnqueueBulk(Objects(3));

        var want4 = new nint[4];
        Assert.Equal(0, ring.DequeueBulk(want4));
        Assert.Equal(new nint[4], want4);   // untouched
        Assert.Equal(3, ring.Count);

        var want3 = new nint[3];
        Assert.Equal(3, ring.DequeueBulk(want3));
        Assert.Equal(Objects(3), want3);
        Assert.True(ring.IsEmpty);
    }

    [Theory]
    [InlineData(RingFlags.SingleProducerSingleConsumer)]
    [InlineData(RingFlags.None)]
    public void Burst_moves_as_many_as_fit(RingFlags flags)
    {
        using var ring = new PointerRing("burst", 8, flags);
        Assert.Equal(5, ring.EnqueueBurst(Objects(5)));

        Assert.Equal(3, ring.EnqueueBurst(Objects(10, first: 6)));   // only 3 free
        Assert.True(ring.IsFull);
        Assert.Equal(0, ring.EnqueueBurst(Objects(1, first: 99)));

        var out10 = new nint[10];
        Assert.Equal(8, ring.DequeueBurst(out10));
        Assert.Equal(Objects(8), out10[..8]);
        Assert.Equal(0, ring.DequeueBurst(out10));
    }

    [Fact]
    public void Count_and_FreeCount_always_sum_to_capacity()
    {
        using var ring = new PointerRing("counts", 32, RingFlags.SingleProducerSingleConsumer);
        var buffer = new nint[7];
        for (int step = 0; step < 100; step++)
        {
            if (step % 3 == 2) ring.DequeueBurst(buffer);
            else ring.EnqueueBurst(Objects(5));
            Assert.Equal(ring.Capacity, ring.Count + ring.FreeCount);
        }
    }

    [Fact]
    public void Empty_spans_move_nothing()
    {
        using var ring = new PointerRing("empty-span", 4);
        Assert.Equal(0, ring.EnqueueBulk(ReadOnlySpan<nint>.Empty));
        Assert.Equal(0, ring.EnqueueBurst(ReadOnlySpan<nint>.Empty));
        Assert.Equal(0, ring.DequeueBulk(Span<nint>.Empty));
        Assert.True(ring.IsEmpty);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    [InlineData(-8)]
    [InlineData(int.MaxValue)]
    public void Sizes_that_are_not_a_power_of_two_from_2_to_2_pow_30_are_rejected(int size)
    {
        var error = Assert.Throws<ArgumentException>(() => new PointerRing("bad", size));
        Assert.Contains("ring bad", error.Message);
        Assert.Contains($"size {size} must be a power of two", error.Message);
    }
}
