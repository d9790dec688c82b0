using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// Used descriptors are staged by PushUsed and written only by PublishUsed: before it the ring holds
/// nothing of them (not an id, not a length), after it every descriptor holds its len, id and flags —
/// also when a whole ring's worth was pushed between two publishes, across the ring's end.
/// </summary>
public unsafe class PackedDeviceUsedStagingTests
{
    const ushort Avail = PackedDescriptor.FlagAvail, Used = PackedDescriptor.FlagUsed, Write = PackedDescriptor.FlagWrite;

    static PackedDescriptor[] Snapshot(PackedRingFixture f, int size)
    {
        var copy = new PackedDescriptor[size];
        for (int s = 0; s < size; s++) copy[s] = f.Ring.Desc[s];
        return copy;
    }

    [Fact]
    public void Pushed_used_descriptors_reach_the_ring_only_when_published()
    {
        const int size = 8;
        using var f = new PackedRingFixture(size);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[2];
        for (int s = 0; s < 3; s++) f.PutAvailable(s, PackedRingFixture.Iova(s * 256), 200, (ushort)(5 - s), PackedDescriptor.FlagWrite);
        for (int s = 0; s < 3; s++) Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));

        var before = Snapshot(f, size);
        Assert.True(device.PushUsed(5, 60));
        Assert.True(device.PushUsed(4, 0));
        Assert.True(device.PushUsed(3, 200));
        // A driver polling now sees the descriptors it made available, untouched.
        Assert.Equal(before, Snapshot(f, size));

        device.PublishUsed();
        Assert.Equal(new PackedDescriptor { Addr = PackedRingFixture.Iova(0), Len = 60, Id = 5, Flags = Avail | Used | Write }, f.Ring.Desc[0]);
        // No bytes written: no WRITE flag (§2.8.3).
        Assert.Equal(new PackedDescriptor { Addr = PackedRingFixture.Iova(256), Len = 0, Id = 4, Flags = Avail | Used }, f.Ring.Desc[1]);
        Assert.Equal(new PackedDescriptor { Addr = PackedRingFixture.Iova(512), Len = 200, Id = 3, Flags = Avail | Used | Write }, f.Ring.Desc[2]);
        Assert.Equal(before[3..], Snapshot(f, size)[3..]);
        Assert.Equal(0ul, device.Errors.Total);
    }

    [Fact]
    public void A_whole_ring_pushed_before_one_publish_lands_across_the_ring_end()
    {
        const int size = 16;
        using var f = new PackedRingFixture(size);
        var driver = new PackedVirtqueueDriver(f.Ring);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[2];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[size];
        // Start mid-ring so the ring's worth of used descriptors wraps, and go round three times.
        for (int i = 0; i < 5; i++) Assert.True(driver.TryAdd([VirtqBuffer.Writable(PackedRingFixture.Iova(i * 256), 256)], i, out _));
        driver.Publish();
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var chain));
            Assert.True(device.PushUsed(chain.Id, 1));
        }
        device.PublishUsed();
        Assert.Equal(5, driver.PollUsed(done));

        for (int lap = 0; lap < 3; lap++)
        {
            for (int i = 0; i < size; i++) Assert.True(driver.TryAdd([VirtqBuffer.Writable(PackedRingFixture.Iova(i * 256), 256)], 100 + i, out _));
            driver.Publish();
            var ids = new ushort[size];
            for (int i = 0; i < size; i++)
            {
                Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var chain));
                ids[i] = chain.Id;
            }
            for (int i = 0; i < size; i++) Assert.True(device.PushUsed(ids[i], (uint)(10 + i)));
            Assert.Equal(0, driver.PollUsed(done));
            device.PublishUsed();
            Assert.Equal(size, driver.PollUsed(done));
            for (int i = 0; i < size; i++)
            {
                Assert.Equal(100 + i, (int)done[i].Cookie);
                Assert.Equal((uint)(10 + i), done[i].Length);
            }
        }
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void A_driver_offering_slots_again_before_it_saw_them_used_gets_an_early_publish_not_a_crash()
    {
        const int size = 8;
        using var f = new PackedRingFixture(size);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[2];
        // Three laps offered, taken and returned with no PublishUsed between them: a hostile driver
        // rewrites each slot for the next lap without waiting to see it used. (What the early publish
        // writes over slots it already offered again is its own loss; the device only must not fail.)
        for (int lap = 0; lap < 3; lap++)
        {
            bool wrap = lap % 2 == 0;
            for (int s = 0; s < size; s++)
            {
                f.PutAvailable(s, PackedRingFixture.Iova(s * 256), 100, (ushort)s, PackedDescriptor.FlagWrite, wrap);
                Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var chain));
                Assert.True(device.PushUsed(chain.Id, (uint)(lap * 10 + s)));
            }
        }
        device.PublishUsed();
        // The last lap's used descriptors are what the ring holds (lap 2: wrap counter 1 again).
        for (int s = 0; s < size; s++)
            Assert.Equal(new PackedDescriptor { Addr = PackedRingFixture.Iova(s * 256), Len = (uint)(20 + s), Id = (ushort)s, Flags = Avail | Used | Write }, f.Ring.Desc[s]);
        Assert.Equal(0ul, device.Errors.Total);
    }
}
