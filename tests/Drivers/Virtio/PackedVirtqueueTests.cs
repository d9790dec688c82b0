using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>Our packed driver side and our packed device side talking through one shared ring (virtio 1.2 §2.8).</summary>
public unsafe class PackedVirtqueueTests
{
    static ulong Iova(int offset) => PackedRingFixture.Iova(offset);

    [Fact]
    public void Transmit_and_receive_one_packet_each()
    {
        using var f = new PackedRingFixture(16);
        var driver = new PackedVirtqueueDriver(f.Ring);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[8];

        f.Arena[100] = 0xAB;
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(0), 12), VirtqBuffer.Readable(Iova(100), 60)], cookie: 1, out var txId));
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(4096), 1500)], cookie: 2, out var rxId));
        Assert.Equal(13, driver.FreeDescriptors);
        // Nothing is visible before Publish: the first head's flags are still unwritten.
        Assert.Equal(VirtqPop.Empty, device.TryPop(segs, out _));
        driver.Publish();
        Assert.Equal(2, device.AvailableCount);

        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var tx));
        Assert.Equal(txId, tx.Id);
        Assert.Equal(2, tx.Segments);
        Assert.Equal(72u, tx.ReadableBytes);
        Span<byte> frame = stackalloc byte[72];
        Assert.Equal(72, VirtqChainCopy.CopyFromReadable(segs[..tx.Segments], frame));
        Assert.Equal(0xAB, frame[12]);

        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var rx));
        Assert.Equal(rxId, rx.Id);
        Assert.Equal(1500u, rx.WritableBytes);
        Assert.Equal(72, VirtqChainCopy.CopyToWritable(segs[..rx.Segments], frame));
        Assert.True(device.PushUsed(tx.Id, 0));
        Assert.True(device.PushUsed(rx.Id, 72));
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(0, driver.PollUsed(done)); // not published yet
        device.PublishUsed();
        Assert.Equal(VirtqPop.Empty, device.TryPop(segs, out _));

        Assert.Equal(2, driver.PollUsed(done));
        Assert.Equal((nint)1, done[0].Cookie);
        Assert.Equal(0u, done[0].Length);
        Assert.Equal((nint)2, done[1].Cookie);
        Assert.Equal(rxId, done[1].Id);
        Assert.Equal(72u, done[1].Length);
        Assert.Equal(0xAB, f.Arena[4096 + 12]);
        Assert.Equal(16, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Theory]
    [InlineData(8, false)]  // out of order: the device completes each burst in reverse
    [InlineData(7, false)]  // packed sizes need not be powers of two (§2.8)
    [InlineData(7, true)]   // VIRTIO_F_IN_ORDER
    public void More_than_65536_buffers_through_a_small_ring(int size, bool inOrder)
    {
        using var f = new PackedRingFixture(size);
        var driver = new PackedVirtqueueDriver(f.Ring, eventIdx: true, inOrder: inOrder);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, eventIdx: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Span<VirtqChain> popped = stackalloc VirtqChain[8];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        long next = 0, reclaimed = 0, wrapFlips = 0;
        bool lastWrap = device.AvailWrapCounter;
        const long total = 70_001;

        while (reclaimed < total)
        {
            // Chains of 1 or 2 slots so chains straddle the ring's end in every position.
            while (next < total)
            {
                ReadOnlySpan<VirtqBuffer> chain = next % 2 == 0
                    ? [VirtqBuffer.Writable(Iova(0), 64)]
                    : [VirtqBuffer.Readable(Iova(0), 12), VirtqBuffer.Writable(Iova(64), 64)];
                if (!driver.TryAdd(chain, (nint)next, out _)) break;
                next++;
            }
            driver.Publish();

            int n = 0;
            while (device.TryPop(segs, out var c) == VirtqPop.Chain) popped[n++] = c;
            if (device.AvailWrapCounter != lastWrap) { wrapFlips++; lastWrap = device.AvailWrapCounter; }
            for (int i = 0; i < n; i++)
            {
                var c = popped[inOrder ? i : n - 1 - i];
                Assert.True(device.PushUsed(c.Id, 64));
            }
            device.PublishUsed();

            int got = driver.PollUsed(done);
            for (int i = 0; i < got; i++)
            {
                Assert.Equal(64u, done[i].Length);
                if (inOrder) Assert.Equal((nint)(reclaimed + i), done[i].Cookie);
            }
            reclaimed += got;
            Assert.True(got > 0);
        }
        Assert.Equal(size, driver.FreeDescriptors);
        Assert.Equal(0, driver.Outstanding);
        Assert.True(wrapFlips > 10_000);
        Assert.Equal(0, device.AvailableCount);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void In_order_device_may_return_a_batch_with_one_used_descriptor()
    {
        // §2.8.8: one used descriptor with the last buffer's id, in the first slot of the batch;
        // the others count as fully used, and the next used descriptor goes after the whole batch.
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        ushort last = 0;
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(0), 10), VirtqBuffer.Writable(Iova(0), 100)], 0, out _));
        for (int i = 1; i < 3; i++) Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 100)], i, out last));
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 50)], 3, out var fourth));
        driver.Publish();
        Assert.Equal(2, last);

        f.PutUsed(0, last, 42);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        Assert.Equal(3, driver.PollUsed(done));
        Assert.Equal([(nint)0, 1, 2], done[..3].ToArray().Select(c => c.Cookie));
        Assert.Equal([100u, 100u, 42u], done[..3].ToArray().Select(c => c.Length));
        Assert.Equal(8 - 1, driver.FreeDescriptors);

        // The batch took 4 slots (2 + 1 + 1): the next used descriptor is in slot 4.
        f.PutUsed(4, fourth, 50);
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal((nint)3, done[0].Cookie);
        Assert.Equal(8, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total);
    }

    [Fact]
    public void In_order_batch_larger_than_the_completion_span_is_reclaimed_across_calls()
    {
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        ushort last = 0;
        for (int i = 0; i < 5; i++) Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 100)], i, out last));
        driver.Publish();
        f.PutUsed(0, last, 7);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[2];
        Assert.Equal(2, driver.PollUsed(done));
        Assert.Equal(2, driver.PollUsed(done));
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal((nint)4, done[0].Cookie);
        Assert.Equal(7u, done[0].Length);
        Assert.Equal(0, driver.PollUsed(done));
        Assert.Equal(8, driver.FreeDescriptors);
        // The next buffer goes into slot 5, and its used descriptor is read from there.
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 100)], 9, out var id));
        driver.Publish();
        f.PutUsed(5, id, 1);
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal((nint)9, done[0].Cookie);
        Assert.Equal(0ul, driver.Errors.Total);
    }

    [Fact]
    public void Indirect_buffer_takes_one_slot_and_reads_its_table()
    {
        using var f = new PackedRingFixture(4);
        var driver = new PackedVirtqueueDriver(f.Ring);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, indirectDesc: true);
        var table = (PackedDescriptor*)(f.Arena + 8192);
        f.Arena[300] = 0x5A;
        Assert.True(driver.TryAddIndirect(
            [VirtqBuffer.Readable(Iova(0), 12), VirtqBuffer.Readable(Iova(300), 20), VirtqBuffer.Writable(Iova(1024), 500)],
            table, Iova(8192), cookie: 77, out var id));
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(2048), 64)], 78, out var plain));
        driver.Publish();
        Assert.Equal(2, driver.FreeDescriptors);

        Span<VirtqSegment> segs = stackalloc VirtqSegment[8];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal(id, c.Id);
        Assert.Equal(3, c.Segments);
        Assert.Equal(32u, c.ReadableBytes);
        Assert.Equal(500u, c.WritableBytes);
        Assert.Equal(0x5A, segs[1].Data[0]);
        Assert.True(segs[2].Writable);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c2));
        Assert.Equal(plain, c2.Id);
        Assert.True(device.PushUsed(c.Id, 300));
        Assert.True(device.PushUsed(c2.Id, 64));
        device.PublishUsed();

        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(2, driver.PollUsed(done));
        Assert.Equal((nint)77, done[0].Cookie);
        Assert.Equal(300u, done[0].Length);
        Assert.Equal(4, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void Chain_across_the_ring_end_keeps_wrap_bits_per_slot()
    {
        // §2.8.1: a chain that crosses the last slot carries the next lap's AVAIL/USED bits after it.
        using var f = new PackedRingFixture(4);
        var driver = new PackedVirtqueueDriver(f.Ring);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[8];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        for (int i = 0; i < 3; i++) Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 8)], i, out _));
        driver.Publish();
        for (int i = 0; i < 3; i++) { Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c)); device.PushUsed(c.Id, 8); }
        device.PublishUsed();
        Assert.Equal(3, driver.PollUsed(done));

        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(0), 4), VirtqBuffer.Readable(Iova(4), 4), VirtqBuffer.Writable(Iova(8), 8)], 9, out var id));
        driver.Publish();
        Assert.Equal(PackedDescriptor.FlagAvail | PackedDescriptor.FlagNext, f.Ring.Desc[3].Flags);
        Assert.Equal(PackedDescriptor.FlagUsed | PackedDescriptor.FlagNext, f.Ring.Desc[0].Flags);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var chain));
        Assert.Equal(id, chain.Id);
        Assert.Equal(3, chain.Segments);
        Assert.False(device.AvailWrapCounter);
        Assert.Equal((ushort)2, device.LastAvailIndex);
        Assert.True(device.PushUsed(id, 8));
        device.PublishUsed();
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal((nint)9, done[0].Cookie);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void UndoPop_puts_the_newest_buffer_back_and_returns_an_older_one_empty()
    {
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[8];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(0), 8), VirtqBuffer.Writable(Iova(8), 8)], 0, out _));
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(16), 8)], 1, out _));
        driver.Publish();
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var a));
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var b));
        Assert.Equal(0, device.AvailableCount);

        // Not the most recent: its slots cannot be read again without b's, so it goes back used, empty.
        device.UndoPop(a.Id);
        device.PublishUsed();
        Assert.Equal(1, driver.PollUsed(done));
        Assert.Equal((nint)0, done[0].Cookie);
        Assert.Equal(0u, done[0].Length);
        Assert.False(device.PushUsed(a.Id, 0)); // returned once only
        Assert.Equal(1ul, device.Errors.BadUsedReturn);

        device.UndoPop(b.Id);
        Assert.Equal((ushort)2, device.LastAvailIndex);
        Assert.Equal(1, device.AvailableCount);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var again));
        Assert.Equal(b.Id, again.Id);
        Assert.Equal(8u, again.WritableBytes);
        Assert.Equal(1ul, device.Errors.BadUsedReturn);
    }

    [Fact]
    public void Vring_base_encodes_index_and_wrap_and_resumes_there()
    {
        Assert.Equal(0x8005u, PackedVringBase.Encode(5, true));
        Assert.True(PackedVringBase.TryDecode(0x8005, 8, out var idx, out var wrap));
        Assert.Equal((ushort)5, idx);
        Assert.True(wrap);
        Assert.False(PackedVringBase.TryDecode(0x8008, 8, out _, out _));   // index ≥ size
        Assert.False(PackedVringBase.TryDecode(0x1_0000, 8, out _, out _)); // a used position other than the avail one
        Assert.True(PackedVringBase.TryDecode(0x8005_8005, 8, out idx, out wrap));   // QEMU: used in bits 16–31, the same
        Assert.Equal((ushort)5, idx);
        Assert.False(PackedVringBase.TryDecode(0x8004_8005, 8, out _, out _));      // QEMU with buffers in flight
        Assert.Equal(0x8005_8005u, PackedVringBase.EncodeStopped(5, true));

        // A device resuming at slot 3 of lap 0 (wrap counter 0) picks up a driver there.
        using var f = new PackedRingFixture(8);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, lastAvail: 3, availWrap: false);
        Assert.Equal(0x3_0003u, device.VringBase);
        f.PutAvailable(3, Iova(0), 64, id: 6, PackedDescriptor.FlagWrite, wrap: false);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal((ushort)6, c.Id);
        Assert.True(device.PushUsed(6, 10));
        device.PublishUsed();
        // Used in lap 0: AVAIL and USED both 0, WRITE set for a nonzero length (§2.8.1, §2.8.3).
        Assert.Equal(PackedDescriptor.FlagWrite, f.Ring.Desc[3].Flags);
        Assert.Equal((ushort)6, f.Ring.Desc[3].Id);
        Assert.Equal(0x4_0004u, device.VringBase);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedVirtqueueDevice(f.Ring, f.Memory, lastAvail: 8));
    }

    [Fact]
    public void Driver_refuses_chains_it_cannot_or_must_not_add()
    {
        using var f = new PackedRingFixture(4);
        var driver = new PackedVirtqueueDriver(f.Ring);
        Assert.False(driver.TryAdd([], 0, out _));
        // §2.8.17: device-readable elements come before device-writable ones.
        Assert.False(driver.TryAdd([VirtqBuffer.Writable(0, 1), VirtqBuffer.Readable(0, 1)], 0, out _));
        Assert.False(driver.TryAdd([VirtqBuffer.Readable(0, 1), VirtqBuffer.Readable(0, 1), VirtqBuffer.Readable(0, 1), VirtqBuffer.Readable(0, 1), VirtqBuffer.Readable(0, 1)], 0, out _));
        Assert.Equal(4, driver.FreeDescriptors);
        driver.Publish();
        for (int i = 0; i < 4; i++) Assert.Equal(0, f.Ring.Desc[i].Flags);
    }
}
