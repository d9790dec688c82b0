using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// A hostile driver writes bad values straight into the shared packed ring; our device side must
/// count each one, hand back what it can, and keep working — never throw or touch memory out of bounds.
/// </summary>
public unsafe class PackedDeviceHostileDriverTests
{
    const ushort Next = PackedDescriptor.FlagNext, Write = PackedDescriptor.FlagWrite, Indirect = PackedDescriptor.FlagIndirect;

    static ulong Iova(int offset) => PackedRingFixture.Iova(offset);

    static (PackedRingFixture, PackedVirtqueueDevice) Setup(bool indirect = true)
    {
        var f = new PackedRingFixture(8);
        return (f, new PackedVirtqueueDevice(f.Ring, f.Memory, indirectDesc: indirect));
    }

    /// <summary>
    /// Expects the bad buffer in the first <paramref name="slots"/> slots dropped and counted once,
    /// returned as used with length 0 in slot 0 when its id was usable, then a good buffer served.
    /// </summary>
    static void AssertDroppedThenRecovers(PackedRingFixture f, PackedVirtqueueDevice device, Func<PackedDeviceErrors, ulong> counter,
        int slots = 1, bool returnedAsUsed = true, int segmentRoom = 8)
    {
        Span<VirtqSegment> segs = stackalloc VirtqSegment[segmentRoom];
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(1ul, counter(device.Errors));
        Assert.Equal(1ul, device.Errors.Total);
        Assert.Equal((ushort)slots, device.LastAvailIndex);
        device.PublishUsed();
        ushort usedBoth = PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed;
        if (returnedAsUsed)
        {
            Assert.Equal(usedBoth, f.Ring.Desc[0].Flags); // used, no WRITE: the buffer comes back empty
            Assert.Equal(0u, f.Ring.Desc[0].Len);
        }
        else Assert.NotEqual(usedBoth, f.Ring.Desc[0].Flags);

        // A good buffer afterwards is served normally.
        f.PutAvailable(slots, Iova(0), 64, id: 5, Write);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal((ushort)5, c.Id);
        Assert.True(device.PushUsed(5, 64));
        Assert.Equal(1ul, device.Errors.Total);
    }

    [Fact]
    public void Buffer_id_out_of_range_is_skipped()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutAvailable(0, Iova(0), 64, id: 8, Write);
        AssertDroppedThenRecovers(f, device, e => e.BufferIdOutOfRange, returnedAsUsed: false);
    }

    [Fact]
    public void Buffer_id_already_in_flight_is_skipped_and_the_first_stays_ours()
    {
        var (f, device) = Setup();
        using var owned = f;
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        f.PutAvailable(0, Iova(0), 64, id: 3, Write);
        f.PutAvailable(1, Iova(64), 64, id: 3, Write);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.BufferIdInFlight);
        Assert.True(device.PushUsed(3, 64));
        Assert.False(device.PushUsed(3, 64)); // returned once only
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
    }

    [Fact]
    public void Zero_length_descriptor_is_dropped()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutAvailable(0, Iova(0), 0, id: 1, Write);
        AssertDroppedThenRecovers(f, device, e => e.ZeroLength);
    }

    [Fact]
    public void Address_outside_guest_memory_is_dropped()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutAvailable(0, ulong.MaxValue - 8, 64, id: 1, Write); // would wrap around 2^64
        AssertDroppedThenRecovers(f, device, e => e.TranslationFailed);
    }

    [Fact]
    public void Readable_after_writable_is_dropped_with_the_whole_list()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutAvailable(0, Iova(0), 64, id: 1, Write | Next);
        f.PutAvailable(1, Iova(64), 64, id: 1);
        AssertDroppedThenRecovers(f, device, e => e.ReadableAfterWritable, slots: 2);
    }

    [Fact]
    public void More_segments_than_the_caller_has_room_for_is_dropped()
    {
        var (f, device) = Setup();
        using var owned = f;
        for (int i = 0; i < 3; i++) f.PutAvailable(i, Iova(64 * i), 64, id: 2, (ushort)(Write | (i < 2 ? Next : 0)));
        AssertDroppedThenRecovers(f, device, e => e.TooManySegments, slots: 3, segmentRoom: 2);
    }

    [Fact]
    public void Id_comes_from_the_last_descriptor_of_the_list()
    {
        // §2.8.6: only the last descriptor's id counts; a garbage id earlier is ignored.
        var (f, device) = Setup();
        using var owned = f;
        f.PutAvailable(0, Iova(0), 12, id: 0xFFFF, Next);
        f.PutAvailable(1, Iova(64), 64, id: 4, Write);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal((ushort)4, c.Id);
        Assert.Equal(0ul, device.Errors.Total);
    }

    [Fact]
    public void Indirect_without_the_feature_or_inside_a_list_is_dropped()
    {
        var (f, device) = Setup(indirect: false);
        using (f)
        {
            f.PutAvailable(0, Iova(4096), 32, id: 1, Indirect);
            AssertDroppedThenRecovers(f, device, e => e.IndirectNotAllowed);
        }
        var (g, device2) = Setup();
        using (g)
        {
            g.PutAvailable(0, Iova(0), 12, id: 1, Next);
            g.PutAvailable(1, Iova(4096), 32, id: 1, Indirect);
            AssertDroppedThenRecovers(g, device2, e => e.IndirectNotAllowed, slots: 2);
        }
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(24u)]            // not a multiple of 16
    [InlineData(16u * 9)]        // more entries than the queue size
    public void Indirect_table_with_a_bad_length_is_dropped(uint len)
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutAvailable(0, Iova(4096), len, id: 1, Indirect);
        AssertDroppedThenRecovers(f, device, e => e.IndirectBadLength);
    }

    [Fact]
    public void Indirect_table_outside_memory_or_with_a_bad_entry_is_dropped()
    {
        var (f, device) = Setup();
        using (f)
        {
            f.PutAvailable(0, Iova(PackedRingFixture.ArenaSize - 16), 32, id: 1, Indirect);
            AssertDroppedThenRecovers(f, device, e => e.TranslationFailed);
        }
        var (g, device2) = Setup();
        using (g)
        {
            var table = (PackedDescriptor*)(g.Arena + 4096);
            table[0] = new PackedDescriptor { Addr = Iova(0), Len = 64 };
            table[1] = new PackedDescriptor { Addr = Iova(64), Len = 0, Flags = Write };
            g.PutAvailable(0, Iova(4096), 32, id: 1, Indirect);
            AssertDroppedThenRecovers(g, device2, e => e.ZeroLength);
        }
    }

    [Fact]
    public void Reserved_flags_inside_an_indirect_table_are_ignored()
    {
        // §2.8.7: only WRITE means anything in an indirect table; NEXT, INDIRECT and the id are ignored.
        var (f, device) = Setup();
        using var owned = f;
        var table = (PackedDescriptor*)(f.Arena + 4096);
        table[0] = new PackedDescriptor { Addr = Iova(0), Len = 12, Flags = Next | Indirect, Id = 0xFFFF };
        table[1] = new PackedDescriptor { Addr = Iova(64), Len = 64, Flags = Write | Next };
        f.PutAvailable(0, Iova(4096), 32, id: 2, Indirect | Write);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal(2, c.Segments);
        Assert.Equal(12u, c.ReadableBytes);
        Assert.Equal(64u, c.WritableBytes);
        Assert.Equal(0ul, device.Errors.Total);
    }

    [Fact]
    public void List_whose_next_slot_is_not_available_consumes_nothing_until_it_is()
    {
        var (f, device) = Setup();
        using var owned = f;
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        f.PutAvailable(0, Iova(0), 12, id: 1, Next);
        Assert.Equal(VirtqPop.Broken, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.ChainIncomplete);
        Assert.Equal((ushort)0, device.LastAvailIndex);
        // The rest shows up: the list is served whole.
        f.PutAvailable(1, Iova(64), 64, id: 1, Write);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal((ushort)1, c.Id);
        Assert.Equal(2, c.Segments);
    }

    [Fact]
    public void List_of_next_flags_around_the_whole_ring_consumes_nothing()
    {
        using var f = new PackedRingFixture(8);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[16];
        f.PutAvailable(0, Iova(0), 8, id: 0, Write);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _)); // slot 0 is ours now
        // Slots 1..7 NEXT, and our in-flight slot 0 rewritten as available in the next lap, NEXT:
        // a list longer than the free part of the ring.
        for (int i = 1; i < 8; i++) f.PutAvailable(i, Iova(0), 8, id: 1, Next);
        f.PutAvailable(0, Iova(0), 8, id: 1, Next, wrap: false);
        Assert.Equal(VirtqPop.Broken, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.ChainTooLong);
        Assert.Equal((ushort)1, device.LastAvailIndex);
        Assert.True(device.AvailWrapCounter);
        Assert.True(device.PushUsed(0, 8));
        // Every slot NEXT in one lap: the walk meets slot 0 of the next lap, not available.
        var (g, device2) = Setup();
        using var owned = g;
        for (int i = 0; i < 8; i++) g.PutAvailable(i, Iova(0), 8, id: 1, Next);
        Assert.Equal(VirtqPop.Broken, device2.TryPop(segs, out _));
        Assert.Equal(1ul, device2.Errors.ChainIncomplete);
        Assert.Equal((ushort)0, device2.LastAvailIndex);
    }

    [Fact]
    public void Our_own_bad_returns_are_counted()
    {
        var (f, device) = Setup();
        using var owned = f;
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.False(device.PushUsed(9, 0));
        Assert.False(device.PushUsed(1, 0));
        device.UndoPop(1);
        f.PutAvailable(0, Iova(0), 64, id: 1, Write);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));
        Assert.True(device.PushUsed(1, 65)); // clamped to the writable 64
        device.PublishUsed();
        Assert.Equal(64u, f.Ring.Desc[0].Len);
        Assert.Equal(4ul, device.Errors.BadUsedReturn);
    }

    [Fact]
    public void A_buffer_put_back_behind_a_dropped_one_goes_back_to_the_driver_empty()
    {
        // Mergeable rx: a frame took buffer 1, met a bad buffer (length 0), then found nothing more,
        // so it puts buffer 1 back. Rewinding would read the bad one again; left in flight, buffer 1
        // would be lost and its slot counted as taken for good.
        var (f, device) = Setup();
        using var owned = f;
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        f.PutAvailable(0, Iova(0), 64, id: 1, Write);
        f.PutAvailable(1, Iova(64), 0, id: 2, Write);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var first));
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(VirtqPop.Empty, device.TryPop(segs, out _));
        device.UndoPop(first.Id);
        device.PublishUsed();
        // The bad buffer went back first (slot 0), then buffer 1 (slot 1), both used and empty.
        ushort usedBoth = PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed;
        Assert.Equal((ushort)2, f.Ring.Desc[0].Id);
        Assert.Equal(usedBoth, f.Ring.Desc[1].Flags);
        Assert.Equal((ushort)1, f.Ring.Desc[1].Id);
        Assert.Equal(0u, f.Ring.Desc[1].Len);
        Assert.False(device.PushUsed(1, 0)); // no longer in flight
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
    }
}
