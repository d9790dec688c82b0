using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// A hostile device writes bad used descriptors straight into the shared packed ring; our driver
/// side must count each one, never free a buffer twice, and keep working.
/// </summary>
public unsafe class PackedDriverHostileDeviceTests
{
    static ulong Iova(int offset) => PackedRingFixture.Iova(offset);

    static (PackedRingFixture, PackedVirtqueueDriver, ushort, ushort) SetupTwo(bool inOrder = false)
    {
        var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: inOrder);
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 100)], 10, out var a));
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(100), 100)], 11, out var b));
        driver.Publish();
        return (f, driver, a, b);
    }

    [Fact]
    public void Used_slot_while_nothing_is_outstanding_consumes_nothing()
    {
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring);
        f.PutUsed(0, 0, 10);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(1ul, driver.Errors.UsedWithoutOutstanding);
        Assert.Equal(8, driver.FreeDescriptors);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Id_out_of_range_is_skipped_and_later_buffers_complete(bool inOrder)
    {
        var (f, driver, a, b) = SetupTwo(inOrder);
        using var owned = f;
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        f.PutUsed(0, 8, 10);
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(1ul, driver.Errors.UsedIdOutOfRange);
        Assert.Equal(2, driver.Outstanding);

        // The next used descriptor (slot 1) completes b — and, in order, a before it.
        f.PutUsed(1, b, 20);
        int n = driver.PollUsed(done);
        Assert.Equal(inOrder ? 2 : 1, n);
        Assert.Equal((nint)11, done[n - 1].Cookie);
        Assert.Equal(20u, done[n - 1].Length);
        Assert.Equal(inOrder ? 0 : 1, driver.Outstanding);
        Assert.Equal(1ul, driver.Errors.Total);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Id_returned_twice_is_not_freed_twice(bool inOrder)
    {
        var (f, driver, a, b) = SetupTwo(inOrder);
        using var owned = f;
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        f.PutUsed(0, a, 5);
        Assert.Equal(1, driver.PollUsed(done));
        int free = driver.FreeDescriptors;
        f.PutUsed(1, a, 5); // a again
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(1ul, driver.Errors.UsedIdNotOutstanding);
        Assert.Equal(1, driver.Outstanding);
        Assert.Equal(free + 1, driver.FreeDescriptors); // the skipped slot, never a second id

        // Ids stay unique: new buffers never get b's id while b is outstanding.
        var ids = new HashSet<ushort> { b };
        for (int i = 0; i < 7; i++) { Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 8)], 20 + i, out var id)); Assert.True(ids.Add(id)); }
        Assert.Equal(1, driver.FreeDescriptors);
        Assert.False(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 8)], 99, out _)); // a slot is free, but no id
    }

    [Fact]
    public void Length_above_the_writable_bytes_is_reported_as_zero()
    {
        var (f, driver, a, _) = SetupTwo();
        using var owned = f;
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        f.PutUsed(0, a, 101);
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal(0u, done[0].Length);
        Assert.Equal(1ul, driver.Errors.UsedLengthTooLarge);
    }

    [Fact]
    public void A_writable_buffer_used_without_the_write_flag_keeps_its_length_within_bounds()
    {
        // QEMU's own devices never set WRITE on a used descriptor (virtqueue_packed_fill_desc), so
        // the length of a buffer that had writable space counts whatever the flags, bounded by it.
        var (f, driver, a, b) = SetupTwo();
        using var owned = f;
        f.Ring.Desc[0] = new PackedDescriptor { Id = a, Len = 60, Flags = PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed };
        f.Ring.Desc[1] = new PackedDescriptor { Id = b, Len = 0xFFFF_FFFF, Flags = PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed };
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(2, driver.PollUsed(done));
        Assert.Equal(60u, done[0].Length);
        Assert.Equal(0u, done[1].Length);
        Assert.Equal(1ul, driver.Errors.UsedLengthTooLarge);
    }

    [Fact]
    public void The_length_of_a_device_readable_buffer_is_ignored()
    {
        // §2.8.4: nothing was written to a buffer without device-writable space; len is reserved.
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring);
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(0), 100)], 10, out var a));
        driver.Publish();
        f.Ring.Desc[0] = new PackedDescriptor { Id = a, Len = 0xFFFF_FFFF, Flags = PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed | PackedDescriptor.FlagWrite };
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal(0u, done[0].Length);
        Assert.Equal(0ul, driver.Errors.Total);
    }

    [Fact]
    public void Half_flipped_flags_are_not_taken_as_used()
    {
        // USED matching our counter but AVAIL not: that is how our own next-lap available slot looks (§2.8.1).
        var (f, driver, a, _) = SetupTwo();
        using var owned = f;
        f.Ring.Desc[0] = new PackedDescriptor { Id = a, Len = 1, Flags = PackedDescriptor.FlagUsed | PackedDescriptor.FlagWrite };
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(0ul, driver.Errors.Total);
        Assert.Equal(2, driver.Outstanding);
    }

    [Fact]
    public void A_lying_skip_never_passes_the_slots_we_made_available()
    {
        // A 3-slot chain completed after the device wrote two bogus used descriptors: the skip is clamped.
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring);
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(0), 8), VirtqBuffer.Readable(Iova(8), 8), VirtqBuffer.Writable(Iova(16), 8)], 1, out var id));
        driver.Publish();
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        f.PutUsed(0, 7, 0);
        f.PutUsed(1, 7, 0);
        f.PutUsed(2, id, 8);
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal(2ul, driver.Errors.Total);
        Assert.Equal(8, driver.FreeDescriptors);
        Assert.Equal(0, driver.Outstanding);
        // The ring works on from slot 3.
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 8)], 2, out var next));
        driver.Publish();
        f.PutUsed(3, next, 8);
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal((nint)2, done[0].Cookie);
    }
}
