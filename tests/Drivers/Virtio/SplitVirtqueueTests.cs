using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>Our driver side and our device side talking through one shared split ring.</summary>
public unsafe class SplitVirtqueueTests
{
    [Fact]
    public void Transmit_and_receive_one_packet_each()
    {
        using var f = new SplitRingFixture(16);
        var driver = new SplitVirtqueueDriver(f.Ring);
        var device = new SplitVirtqueueDevice(f.Ring, f.Memory);

        // Driver: a tx chain (12-byte header + payload, device-readable) and an rx buffer (writable).
        f.Arena[100] = 0xAB;
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(SplitRingFixture.Iova(0), 12), VirtqBuffer.Readable(SplitRingFixture.Iova(100), 60)], cookie: 1, out var txHead));
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(SplitRingFixture.Iova(4096), 1500)], cookie: 2, out var rxHead));
        driver.Publish();
        Assert.Equal(13, driver.FreeDescriptors);

        // Device: pop the tx chain, read it, pop the rx chain, write into it, return both.
        Span<VirtqSegment> segs = stackalloc VirtqSegment[8];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var tx));
        Assert.Equal(txHead, tx.Id);
        Assert.Equal(2, tx.Segments);
        Assert.Equal(72u, tx.ReadableBytes);
        Span<byte> frame = stackalloc byte[72];
        Assert.Equal(72, VirtqChainCopy.CopyFromReadable(segs[..tx.Segments], frame));
        Assert.Equal(0xAB, frame[12]);

        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var rx));
        Assert.Equal(1500u, rx.WritableBytes);
        Assert.Equal(72, VirtqChainCopy.CopyToWritable(segs[..rx.Segments], frame));
        Assert.True(device.PushUsed(tx.Id, 0));
        Assert.True(device.PushUsed(rx.Id, 72));
        device.PublishUsed();
        Assert.Equal(VirtqPop.Empty, device.TryPop(segs, out _));

        // Driver: reclaim both, with their cookies and lengths.
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(2, driver.PollUsed(done));
        Assert.Equal((nint)1, done[0].Cookie);
        Assert.Equal((nint)2, done[1].Cookie);
        Assert.Equal(rxHead, done[1].Id);
        Assert.Equal(72u, done[1].Length);
        Assert.Equal(0xAB, f.Arena[4096 + 12]);
        Assert.Equal(16, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Theory]
    [InlineData(false, false)] // device completes each burst in reverse: out of order
    [InlineData(true, true)]   // VIRTIO_F_IN_ORDER on both sides
    public void More_than_65536_buffers_through_a_small_queue(bool inOrder, bool completeInOrder)
    {
        using var f = new SplitRingFixture(8);
        var driver = new SplitVirtqueueDriver(f.Ring, eventIdx: true, inOrder: inOrder);
        var device = new SplitVirtqueueDevice(f.Ring, f.Memory, eventIdx: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Span<VirtqChain> popped = stackalloc VirtqChain[8];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        long next = 0, reclaimed = 0;
        const long total = 70_001;

        while (reclaimed < total)
        {
            // Chains of 1 or 2 descriptors so chain lengths vary and the free list gets shuffled.
            while (next < total)
            {
                int len = (int)(next % 2) + 1;
                ReadOnlySpan<VirtqBuffer> chain = len == 1
                    ? [VirtqBuffer.Writable(SplitRingFixture.Iova(0), 64)]
                    : [VirtqBuffer.Readable(SplitRingFixture.Iova(0), 12), VirtqBuffer.Writable(SplitRingFixture.Iova(64), 64)];
                if (!driver.TryAdd(chain, (nint)next, out _)) break;
                next++;
            }
            driver.Publish();

            int n = 0;
            while (device.TryPop(segs, out var c) == VirtqPop.Chain) popped[n++] = c;
            for (int i = 0; i < n; i++)
            {
                var c = popped[completeInOrder ? i : n - 1 - i];
                Assert.True(device.PushUsed(c.Id, 64));
            }
            device.PublishUsed();

            int got = driver.PollUsed(done);
            for (int i = 0; i < got; i++)
            {
                Assert.Equal(64u, done[i].Length);
                if (completeInOrder) Assert.Equal((nint)(reclaimed + i), done[i].Cookie);
            }
            reclaimed += got;
            Assert.True(got > 0);
        }
        Assert.Equal(8, driver.FreeDescriptors);
        Assert.Equal(0, driver.Outstanding);
        Assert.Equal(unchecked((ushort)total), *f.Ring.UsedIdx);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void In_order_device_may_return_a_batch_with_one_used_element()
    {
        // §2.7.9: one used element carrying the last chain's id; used->idx advances by the batch size.
        using var f = new SplitRingFixture(8);
        var driver = new SplitVirtqueueDriver(f.Ring, inOrder: true);
        ushort last = 0;
        for (int i = 0; i < 3; i++) Assert.True(driver.TryAdd([VirtqBuffer.Writable(SplitRingFixture.Iova(0), 100)], i, out last));
        driver.Publish();
        Assert.Equal(2, last); // in order: descriptors are used in ring order

        f.Ring.UsedRing[0] = new VirtqUsedElement { Id = last, Len = 42 };
        *f.Ring.UsedIdx = 3;
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        Assert.Equal(3, driver.PollUsed(done));
        Assert.Equal([(nint)0, 1, 2], done[..3].ToArray().Select(c => c.Cookie));
        Assert.Equal(42u, done[2].Length);
        Assert.Equal(8, driver.FreeDescriptors);
    }

    [Fact]
    public void Without_event_idx_notifications_follow_the_flags()
    {
        using var f = new SplitRingFixture(8);
        var driver = new SplitVirtqueueDriver(f.Ring);
        var device = new SplitVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];

        driver.TryAdd([VirtqBuffer.Writable(SplitRingFixture.Iova(0), 64)], 0, out _);
        driver.Publish();
        Assert.True(driver.NeedsNotify());

        // The device polls: it tells the driver not to kick (VIRTQ_USED_F_NO_NOTIFY, §2.7.10).
        device.DisableAvailNotifications();
        driver.TryAdd([VirtqBuffer.Writable(SplitRingFixture.Iova(0), 64)], 1, out _);
        driver.Publish();
        Assert.False(driver.NeedsNotify());
        // Re-enabling with buffers pending says "poll again" rather than "sleep".
        Assert.True(device.EnableAvailNotifications());
        while (device.TryPop(segs, out var c) == VirtqPop.Chain) device.PushUsed(c.Id, 1);
        Assert.False(device.EnableAvailNotifications());

        // Used side: the driver asked for no interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT, §2.7.7).
        driver.DisableUsedNotifications();
        device.PublishUsed();
        Assert.False(device.NeedsInterrupt());
        Assert.True(driver.EnableUsedNotifications()); // two used buffers already waiting
        Assert.True(device.NeedsInterrupt());
    }

    [Fact]
    public void With_event_idx_notifications_follow_the_event_indexes()
    {
        using var f = new SplitRingFixture(8);
        var driver = new SplitVirtqueueDriver(f.Ring, eventIdx: true);
        var device = new SplitVirtqueueDevice(f.Ring, f.Memory, eventIdx: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];

        // avail_event = 0: the device wants a kick when buffer 0 becomes available.
        Assert.False(device.EnableAvailNotifications());
        driver.TryAdd([VirtqBuffer.Writable(SplitRingFixture.Iova(0), 64)], 0, out _);
        driver.Publish();
        Assert.True(driver.NeedsNotify());
        // The device has not moved avail_event: a second buffer needs no second kick.
        driver.TryAdd([VirtqBuffer.Writable(SplitRingFixture.Iova(0), 64)], 1, out _);
        driver.Publish();
        Assert.False(driver.NeedsNotify());

        // used_event = 0: the driver wants an interrupt for the first used buffer only.
        Assert.False(driver.EnableUsedNotifications());
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c0));
        device.PushUsed(c0.Id, 1);
        device.PublishUsed();
        Assert.True(device.NeedsInterrupt());
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c1));
        device.PushUsed(c1.Id, 1);
        device.PublishUsed();
        Assert.False(device.NeedsInterrupt());
        Assert.Equal((ushort)0, *f.Ring.UsedEvent);
    }

    [Fact]
    public void Driver_refuses_chains_it_cannot_or_must_not_add()
    {
        using var f = new SplitRingFixture(4);
        var driver = new SplitVirtqueueDriver(f.Ring);
        Assert.False(driver.TryAdd([], 0, out _));
        // §2.7.4.2: device-readable elements come before device-writable ones.
        Assert.False(driver.TryAdd([VirtqBuffer.Writable(0, 1), VirtqBuffer.Readable(0, 1)], 0, out _));
        Assert.False(driver.TryAdd([VirtqBuffer.Readable(0, 1), VirtqBuffer.Readable(0, 1), VirtqBuffer.Readable(0, 1), VirtqBuffer.Readable(0, 1), VirtqBuffer.Readable(0, 1)], 0, out _));
        Assert.Equal(4, driver.FreeDescriptors);
        Assert.Equal((ushort)0, *f.Ring.AvailIdx);
    }
}
