using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// <see cref="PackedVirtqueueDevice.TryPopBatch"/>: four one-descriptor buffers of one cache line taken at
/// once, or nothing taken and nothing counted — every shape it does not take is left for TryPop, which
/// takes it (and counts it) exactly as before. A hostile driver gets no more from the batch than from TryPop.
/// </summary>
public unsafe class PackedDeviceBatchPopTests
{
    const int Batch = PackedVirtqueueDevice.BatchSize;
    static ulong Iova(int offset) => PackedRingFixture.Iova(offset);

    static bool PopBatch(PackedVirtqueueDevice device, Span<VirtqSegment> segs, Span<VirtqChain> chains) => device.TryPopBatch(segs, chains);

    /// <summary>The id <see cref="Offer"/> gives a slot: not the slot itself, so a mix-up shows.</summary>
    static ushort IdOf(int slot, int size) => (ushort)((slot + 4) % size);

    /// <summary>Slots [first, first + count) available in lap <paramref name="wrap"/>: slot s holds 72 bytes at Iova(s * 256), id IdOf(s).</summary>
    static void Offer(PackedRingFixture f, int first, int count, int size, bool wrap = true, ushort flags = 0)
    {
        for (int s = first; s < first + count; s++)
            f.PutAvailable(s, Iova(s * 256), 72, IdOf(s, size), flags, wrap);
    }

    [Fact]
    public void Takes_a_line_of_four_single_descriptor_buffers()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        Offer(f, 0, 8, 16);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];

        Assert.True(PopBatch(device, segs, chains));
        for (int i = 0; i < Batch; i++)
        {
            Assert.Equal(IdOf(i, 16), chains[i].Id);
            Assert.Equal(1, chains[i].Segments);
            Assert.Equal(72u, chains[i].ReadableBytes);
            Assert.Equal(0u, chains[i].WritableBytes);
            Assert.Equal((nint)(f.Arena + i * 256), (nint)segs[i].Data);
            Assert.False(segs[i].Writable);
        }
        Assert.Equal(Batch, device.LastAvailIndex);

        // The next line is taken too; then the ring is empty for both paths.
        Assert.True(PopBatch(device, segs, chains));
        Assert.Equal(IdOf(7, 16), chains[3].Id);
        Assert.False(PopBatch(device, segs, chains));
        Assert.Equal(VirtqPop.Empty, device.TryPop(segs, out _));
        Assert.Equal(0ul, device.Errors.Total);
    }

    [Fact]
    public void Buffers_taken_by_the_batch_go_back_as_any_other_and_the_driver_gets_them_all()
    {
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        // Three laps of an 8-slot ring: the batch flips the wrap counter at the ring's end.
        for (int lap = 0; lap < 6; lap++)
        {
            for (int i = 0; i < Batch; i++) Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(i * 256), 72)], 10 + i, out _));
            driver.Publish();
            Assert.True(PopBatch(device, segs, chains));
            for (int i = 0; i < Batch; i++) Assert.True(device.PushUsed(chains[i].Id, 0));
            device.PublishUsed();
            Assert.Equal(Batch, driver.PollUsed(done));
            Assert.Equal([(nint)10, 11, 12, 13], done[..Batch].ToArray().Select(c => c.Cookie));
        }
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Theory]
    [InlineData(PackedDescriptor.FlagNext)]
    [InlineData(PackedDescriptor.FlagIndirect)]
    public void A_chained_or_indirect_slot_in_the_line_leaves_it_all_to_TryPop(ushort flags)
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, indirectDesc: true);
        Offer(f, 0, 4, 16);
        f.PutAvailable(2, Iova(2 * 256), 72, IdOf(2, 16), flags);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];

        Assert.False(PopBatch(device, segs, chains));
        Assert.Equal(0, device.LastAvailIndex);
        Assert.Equal(0ul, device.Errors.Total);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var first));
        Assert.Equal(IdOf(0, 16), first.Id); // TryPop starts where the batch declined
    }

    [Fact]
    public void Spans_too_short_for_a_line_take_nothing()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Offer(f, 0, 4, 16);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.False(device.TryPopBatch(segs[..(Batch - 1)], chains));
        Assert.False(device.TryPopBatch(segs, chains[..(Batch - 1)]));
        Assert.Equal(0, device.LastAvailIndex);
        Assert.True(PopBatch(device, segs, chains));
    }

    [Fact]
    public void A_line_not_wholly_available_is_not_taken()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Offer(f, 0, 3, 16); // the driver is still writing slot 3
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.False(PopBatch(device, segs, chains));

        Offer(f, 3, 1, 16, wrap: false); // available, but in the next lap's colours: not available now
        Assert.False(PopBatch(device, segs, chains));
        Offer(f, 3, 1, 16);
        Assert.True(PopBatch(device, segs, chains));
    }

    [Fact]
    public void Only_a_line_start_is_taken_at_once()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Offer(f, 0, 12, 16);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _)); // slot 0 alone: the cursor is at 1
        Assert.False(PopBatch(device, segs, chains));
        for (int i = 1; i < 4; i++) Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));
        Assert.True(PopBatch(device, segs, chains)); // slots 4-7
        Assert.Equal(IdOf(4, 16), chains[0].Id);
    }

    [Fact]
    public void A_repeated_id_in_the_line_or_one_still_in_flight_is_left_to_TryPop_which_drops_it()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Offer(f, 0, 4, 16);
        f.PutAvailable(3, Iova(3 * 256), 72, IdOf(1, 16)); // slot 1's id again
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];

        Assert.False(PopBatch(device, segs, chains));
        for (int i = 0; i < 3; i++) Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.BufferIdInFlight);

        // The batch undid what it had marked: TryPop took ids of slots 0-2 once each.
        for (int s = 0; s < 3; s++) Assert.True(device.PushUsed(IdOf(s, 16), 0));
        Assert.False(device.PushUsed(IdOf(2, 16), 0));
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
    }

    [Theory]
    [InlineData(0u, 0x1000ul)]                              // zero length
    [InlineData(72u, PackedRingFixture.GuestBase - 4096)]  // outside guest memory
    [InlineData(72u, PackedRingFixture.GuestBase + PackedRingFixture.ArenaSize - 8)] // runs past its end
    public void A_bad_descriptor_in_the_line_is_left_to_TryPop_which_counts_it(uint len, ulong addr)
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Offer(f, 0, 4, 16);
        f.PutAvailable(2, addr == 0x1000 ? Iova(2 * 256) : addr, len, IdOf(2, 16));
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];

        Assert.False(PopBatch(device, segs, chains));
        Assert.Equal(0ul, device.Errors.Total);
        var pops = new List<VirtqPop>();
        for (int i = 0; i < 4; i++) pops.Add(device.TryPop(segs, out _));
        Assert.Equal([VirtqPop.Chain, VirtqPop.Chain, VirtqPop.Dropped, VirtqPop.Chain], pops);
        Assert.Equal(1ul, device.Errors.Total);
        // Ids the batch looked at and gave up went to TryPop, which holds them once.
        Assert.True(device.PushUsed(IdOf(0, 16), 0));
        Assert.True(device.PushUsed(IdOf(1, 16), 0));
    }

    [Fact]
    public void An_id_beyond_the_ring_is_left_to_TryPop()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Offer(f, 0, 4, 16);
        f.PutAvailable(1, Iova(256), 72, 16);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.False(PopBatch(device, segs, chains));
        device.TryPop(segs, out _);
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.BufferIdOutOfRange);
    }

    [Fact]
    public void Writable_buffers_are_taken_with_their_writable_bytes()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Offer(f, 0, 4, 16, flags: PackedDescriptor.FlagWrite);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.True(PopBatch(device, segs, chains));
        Assert.True(segs[0].Writable);
        Assert.Equal(72u, chains[0].WritableBytes);
        Assert.Equal(0u, chains[0].ReadableBytes);
        Assert.True(device.PushUsed(chains[0].Id, 72));
        Assert.True(device.PushUsed(chains[1].Id, 73)); // more than the buffer holds: clamped, counted
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
    }

    [Fact]
    public void A_line_of_mixed_readable_and_writable_buffers_is_left_to_TryPop_which_keeps_each_its_direction()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        // Writable in slots 1 and 2 only: a line is taken whole only when its four go one way.
        Offer(f, 0, 1, 16);
        Offer(f, 1, 2, 16, flags: PackedDescriptor.FlagWrite);
        Offer(f, 3, 1, 16);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.False(PopBatch(device, segs, chains));
        Assert.Equal(0, device.LastAvailIndex);
        Assert.Equal(0ul, device.Errors.Total);
        bool[] writable = [false, true, true, false];
        for (int i = 0; i < Batch; i++)
        {
            Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out chains[i]));
            Assert.Equal(IdOf(i, 16), chains[i].Id);
            Assert.Equal(writable[i], segs[0].Writable);
            Assert.Equal(writable[i] ? 72u : 0u, chains[i].WritableBytes);
            Assert.Equal(writable[i] ? 0u : 72u, chains[i].ReadableBytes);
        }
        // The device remembers what each may be written: a readable one takes no bytes back.
        Assert.True(device.PushUsed(chains[0].Id, 1));
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
        Assert.True(device.PushUsed(chains[1].Id, 72));
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
    }

    [Fact]
    public void A_line_is_not_taken_while_its_slots_are_still_held()
    {
        // A chain of 12 slots (id 0) and a line of four (ids 1-4) hold all 16 slots: a line "offered"
        // over them in the next lap, with ids that are free, is forged — only the room check says so.
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        for (int s = 0; s < 12; s++) f.PutAvailable(s, Iova(s * 256), 72, 0, s < 11 ? PackedDescriptor.FlagNext : (ushort)0);
        for (int s = 12; s < 16; s++) f.PutAvailable(s, Iova(s * 256), 72, (ushort)(s - 11));
        Span<VirtqSegment> segs = stackalloc VirtqSegment[16];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var chain));
        Assert.Equal(12, chain.Segments);
        Assert.True(PopBatch(device, segs, chains));

        for (int s = 0; s < 4; s++) f.PutAvailable(s, Iova(s * 256), 72, (ushort)(5 + s), wrap: false);
        Assert.False(PopBatch(device, segs, chains));
    }
}
