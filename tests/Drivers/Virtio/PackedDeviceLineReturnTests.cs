using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// <see cref="PackedVirtqueueDevice.PushUsedAll"/>: buffers taken in lines go back as PushUsed of each in
/// turn would send them. In order (§2.8.8), the run of them next in used order is one step of the
/// in-order batch, across the ring's end too; the rest take the buffer-by-buffer path, and an id the
/// device never lent out is counted, never trusted.
/// </summary>
public unsafe class PackedDeviceLineReturnTests
{
    const int Batch = PackedVirtqueueDevice.BatchSize;
    const ushort AvailUsed = PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed;

    static bool IsUsed(PackedRingFixture f, int slot, bool wrap = true) => PackedDescriptor.IsUsed(f.Ring.Desc[slot].Flags, wrap);

    /// <summary>The driver adds <paramref name="count"/> one-descriptor readable buffers, cookies from <paramref name="cookie"/>.</summary>
    static void AddReadable(PackedVirtqueueDriver driver, int count, int cookie = 0)
    {
        for (int i = 0; i < count; i++)
            Assert.True(driver.TryAdd([VirtqBuffer.Readable(PackedRingFixture.Iova(i * 256), 72)], cookie + i, out _));
        driver.Publish();
    }

    [Fact]
    public void An_in_order_line_returns_as_one_used_descriptor_and_frees_its_four_ids()
    {
        using var f = new PackedRingFixture(16);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[16];
        for (int lap = 0; lap < 3; lap++) // across the ring's end: both wrap counters
        {
            for (int line = 0; line < 16 / Batch; line++)
            {
                AddReadable(driver, Batch, cookie: line * Batch);
                Assert.True(device.TryPopBatch(segs, chains));
                device.PushUsedAll(chains);
                device.PublishUsed();
                int slot = line * Batch;
                bool wrap = lap % 2 == 0;
                Assert.True(IsUsed(f, slot, wrap));
                Assert.Equal(chains[Batch - 1].Id, f.Ring.Desc[slot].Id);
                Assert.Equal(0u, f.Ring.Desc[slot].Len);
                for (int k = 1; k < Batch; k++) Assert.False(IsUsed(f, slot + k, wrap)); // one descriptor for four
                Assert.Equal(Batch, driver.PollUsed(done));
                for (int k = 0; k < Batch; k++) Assert.Equal(line * Batch + k, (int)done[k].Cookie);
            }
        }
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
        // Every id is free again: a second return of the last line is refused, counted.
        device.PushUsedAll(chains);
        Assert.Equal((ulong)Batch, device.Errors.BadUsedReturn);
    }

    [Fact]
    public void Lines_returned_together_across_the_rings_end_are_one_used_descriptor()
    {
        using var f = new PackedRingFixture(16);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[3 * Batch];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[16];
        AddReadable(driver, 2 * Batch);
        Assert.True(device.TryPopBatch(segs, chains[..Batch]));
        Assert.True(device.TryPopBatch(segs, chains[Batch..(2 * Batch)]));
        device.PushUsedAll(chains[..(2 * Batch)]);
        device.PublishUsed();
        Assert.Equal(2 * Batch, driver.PollUsed(done));

        // Slots 8-15 of this lap and 0-3 of the next: three lines, one return.
        AddReadable(driver, 3 * Batch, cookie: 100);
        for (int line = 0; line < 3; line++) Assert.True(device.TryPopBatch(segs, chains.Slice(line * Batch, Batch)));
        device.PushUsedAll(chains);
        device.PublishUsed();
        Assert.True(IsUsed(f, 8));
        Assert.Equal(chains[^1].Id, f.Ring.Desc[8].Id);
        for (int slot = 9; slot < 16; slot++) Assert.False(IsUsed(f, slot));
        Assert.Equal(3 * Batch, driver.PollUsed(done));
        for (int k = 0; k < 3 * Batch; k++) Assert.Equal(100 + k, (int)done[k].Cookie);
        Assert.Equal(16, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void Without_in_order_each_buffer_of_the_line_gets_its_own_used_descriptor()
    {
        using var f = new PackedRingFixture(16);
        var driver = new PackedVirtqueueDriver(f.Ring);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        AddReadable(driver, Batch);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.True(device.TryPopBatch(segs, chains));
        device.PushUsedAll(chains);
        device.PublishUsed();
        for (int k = 0; k < Batch; k++)
        {
            Assert.Equal(chains[k].Id, f.Ring.Desc[k].Id);
            Assert.Equal(AvailUsed, f.Ring.Desc[k].Flags);
        }
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        Assert.Equal(Batch, driver.PollUsed(done));
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void A_line_that_is_not_next_in_used_order_gets_a_descriptor_per_buffer_where_the_cursor_is()
    {
        using var f = new PackedRingFixture(16);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        // Four single buffers (slots 0-3), then a line (slots 4-7) returned before the fourth single:
        // out of order, which a burst never does, so the line must not join the in-order batch.
        AddReadable(driver, 4 + Batch);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        var singles = new VirtqChain[4];
        for (int i = 0; i < 4; i++) Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out singles[i]));
        Assert.True(device.TryPopBatch(segs, chains));
        for (int i = 0; i < 3; i++) Assert.True(device.PushUsed(singles[i].Id, 0));
        device.PushUsedAll(chains);
        Assert.True(device.PushUsed(singles[3].Id, 0));
        device.PublishUsed();

        Assert.Equal(singles[2].Id, f.Ring.Desc[0].Id); // the in-order batch of the first three
        for (int k = 0; k < Batch; k++) Assert.Equal(chains[k].Id, f.Ring.Desc[3 + k].Id);
        Assert.Equal(singles[3].Id, f.Ring.Desc[7].Id);
        foreach (int slot in new[] { 0, 3, 4, 5, 6, 7 }) Assert.True(IsUsed(f, slot));
        Assert.Equal(0ul, device.Errors.Total);
    }

    [Fact]
    public void Ids_the_device_never_lent_out_are_counted_and_touch_nothing()
    {
        using var f = new PackedRingFixture(16);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        AddReadable(driver, Batch);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];
        Assert.True(device.TryPopBatch(segs, chains));
        Span<VirtqChain> bad = stackalloc VirtqChain[Batch];
        chains.CopyTo(bad);
        bad[1].Id = 16;           // past the ids the ring has
        bad[2].Id = ushort.MaxValue;
        device.PushUsedAll(bad);
        Assert.Equal(2ul, device.Errors.BadUsedReturn);
        device.PushUsedAll(chains[..2]); // chains[0] went back above: the run stops there, counted
        Assert.Equal(3ul, device.Errors.BadUsedReturn);
        device.PushUsedAll(chains[2..]);
        device.PublishUsed();
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        Assert.Equal(Batch, driver.PollUsed(done));
        Assert.Equal(0ul, driver.Errors.Total);
    }
}
