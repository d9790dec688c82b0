using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// A hostile driver writes bad values straight into the shared ring; our device side must count
/// each one, hand back what it can, and keep working — never throw or touch memory out of bounds.
/// </summary>
public unsafe class SplitDeviceHostileDriverTests
{
    const ushort Next = VirtqDescriptor.FlagNext, Write = VirtqDescriptor.FlagWrite, Indirect = VirtqDescriptor.FlagIndirect;

    static ulong Iova(int offset) => SplitRingFixture.Iova(offset);

    /// <summary>Offers descriptor 0 as a bad chain, expects it dropped and counted, then checks the queue still works.</summary>
    static void AssertDroppedThenRecovers(SplitRingFixture f, SplitVirtqueueDevice device, Func<SplitDeviceErrors, ulong> counter,
        bool returnedAsUsed = true, int segmentRoom = 8)
    {
        Span<VirtqSegment> segs = stackalloc VirtqSegment[segmentRoom];
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(1ul, counter(device.Errors));
        Assert.Equal(1ul, device.Errors.Total);
        device.PublishUsed();
        if (returnedAsUsed)
        {
            Assert.Equal((ushort)1, *f.Ring.UsedIdx);
            Assert.Equal(0u, f.Ring.UsedRing[0].Len); // the buffer comes back empty
        }

        // A good chain afterwards is served normally.
        f.PutDescriptor(5, Iova(0), 64, Write);
        f.OfferHead(5);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal((ushort)5, c.Id);
        Assert.True(device.PushUsed(5, 64));
    }

    static (SplitRingFixture, SplitVirtqueueDevice) Setup(bool indirect = true)
    {
        var f = new SplitRingFixture(8);
        return (f, new SplitVirtqueueDevice(f.Ring, f.Memory, indirectDesc: indirect));
    }

    [Fact]
    public void Avail_idx_jumping_past_the_queue_size_consumes_nothing()
    {
        var (f, device) = Setup();
        using var owned = f;
        *f.Ring.AvailIdx = 9;
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.Equal(VirtqPop.Broken, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.AvailIndexJump);
        Assert.Equal((ushort)0, device.LastAvailIndex);
        Assert.Equal((ushort)0, *f.Ring.UsedIdx);
    }

    [Fact]
    public void Head_out_of_range_is_skipped()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.OfferHead(8);
        AssertDroppedThenRecovers(f, device, e => e.HeadOutOfRange, returnedAsUsed: false);
    }

    [Fact]
    public void Same_head_offered_twice_while_in_flight_is_skipped()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, Iova(0), 64, Write);
        f.OfferHead(0);
        f.OfferHead(0);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.HeadInFlight);
        Assert.True(device.PushUsed(0, 64));
        Assert.False(device.PushUsed(0, 64)); // and we never return it twice ourselves
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
    }

    [Fact]
    public void Next_out_of_range()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, Iova(0), 64, Next, next: 200);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.DescriptorOutOfRange);
    }

    [Fact]
    public void Loop_in_a_chain()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, Iova(0), 64, Next, next: 1);
        f.PutDescriptor(1, Iova(0), 64, Next, next: 0);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.ChainTooLong);
    }

    [Fact]
    public void Loop_inside_an_indirect_table()
    {
        var (f, device) = Setup();
        using var owned = f;
        var table = (VirtqDescriptor*)(f.Arena + 8192);
        table[0] = new VirtqDescriptor { Addr = Iova(0), Len = 8, Flags = Next, Next = 1 };
        table[1] = new VirtqDescriptor { Addr = Iova(0), Len = 8, Flags = Next, Next = 0 };
        f.PutDescriptor(0, Iova(8192), 32, Indirect);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.ChainTooLong);
    }

    [Fact]
    public void Chain_with_more_segments_than_the_caller_has_room_for()
    {
        var (f, device) = Setup();
        using var owned = f;
        for (ushort i = 0; i < 4; i++) f.PutDescriptor(i, Iova(0), 8, i < 3 ? Next : (ushort)0, (ushort)(i + 1));
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.TooManySegments, segmentRoom: 3);
    }

    [Fact]
    public void Indirect_inside_indirect()
    {
        var (f, device) = Setup();
        using var owned = f;
        var table = (VirtqDescriptor*)(f.Arena + 8192);
        table[0] = new VirtqDescriptor { Addr = Iova(8192), Len = 16, Flags = Indirect };
        f.PutDescriptor(0, Iova(8192), 16, Indirect);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.NestedIndirect);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(24)]       // not a multiple of 16
    [InlineData(16 * 9)]   // more entries than the queue size
    public void Indirect_table_with_a_bad_length(uint len)
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, Iova(8192), len, Indirect);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.IndirectBadLength);
    }

    [Fact]
    public void Indirect_without_the_feature_or_with_next()
    {
        var (f, device) = Setup(indirect: false);
        using var owned = f;
        f.PutDescriptor(0, Iova(8192), 16, Indirect);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.IndirectNotAllowed);

        var (g, device2) = Setup();
        using var owned2 = g;
        g.PutDescriptor(0, Iova(8192), 16, Indirect | Next, next: 1);
        g.OfferHead(0);
        AssertDroppedThenRecovers(g, device2, e => e.IndirectNotAllowed);
    }

    [Fact]
    public void Valid_indirect_table_is_walked()
    {
        var (f, device) = Setup();
        using var owned = f;
        var table = (VirtqDescriptor*)(f.Arena + 8192);
        table[0] = new VirtqDescriptor { Addr = Iova(0), Len = 12, Flags = Next, Next = 1 };
        table[1] = new VirtqDescriptor { Addr = Iova(64), Len = 100, Flags = Write };
        f.PutDescriptor(3, Iova(8192), 32, Indirect);
        f.OfferHead(3);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal((3, 2, 12u, 100u), ((int)c.Id, c.Segments, c.ReadableBytes, c.WritableBytes));
        Assert.True(segs[1].Data == f.Arena + 64);
    }

    [Fact]
    public void Zero_length_descriptor()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, Iova(0), 0, Write);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.ZeroLength);
    }

    [Fact]
    public void Readable_after_writable()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, Iova(0), 8, Write | Next, next: 1);
        f.PutDescriptor(1, Iova(0), 8);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.ReadableAfterWritable);
    }

    [Theory]
    [InlineData(0x1000ul, 8u)]                                    // below guest memory
    [InlineData(SplitRingFixture.GuestBase + SplitRingFixture.ArenaSize - 4, 8u)] // runs off the end
    [InlineData(ulong.MaxValue - 3, 8u)]                          // wraps 2^64
    public void Address_outside_guest_memory(ulong addr, uint len)
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, addr, len);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.TranslationFailed);
    }

    [Fact]
    public void Indirect_table_outside_guest_memory()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, 0x10, 32, Indirect);
        f.OfferHead(0);
        AssertDroppedThenRecovers(f, device, e => e.TranslationFailed);
    }

    [Fact]
    public void Device_never_writes_a_read_only_chain()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(0, Iova(0), 64); // an rx buffer the driver forgot to mark writable
        f.OfferHead(0);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal(-1, VirtqChainCopy.CopyToWritable(segs[..c.Segments], [1, 2, 3]));
        Assert.Equal(0, f.Arena[0]);
        // Returning it with a length it could not have written is clamped and counted.
        Assert.True(device.PushUsed(c.Id, 3));
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
        device.PublishUsed();
        Assert.Equal(0u, f.Ring.UsedRing[0].Len);
    }
}
