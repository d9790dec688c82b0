using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// VIRTIO_F_IN_ORDER on our packed device (virtio 1.2 §2.8.8): device-readable buffers returned in the
/// order they were taken are written as one used descriptor — in the first buffer's slot, with the last
/// buffer's id — and the driver skips them all. Writable buffers (their length counts) and buffers
/// returned out of order keep a descriptor each.
/// </summary>
public unsafe class PackedDeviceInOrderBatchTests
{
    static ulong Iova(int offset) => PackedRingFixture.Iova(offset);
    const ushort AvailUsed = PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed;

    static bool IsUsed(PackedRingFixture f, int slot, bool wrap = true) => PackedDescriptor.IsUsed(f.Ring.Desc[slot].Flags, wrap);

    static VirtqChain Pop(PackedVirtqueueDevice device)
    {
        Span<VirtqSegment> segs = stackalloc VirtqSegment[8];
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var chain));
        return chain;
    }

    [Fact]
    public void Readable_buffers_returned_in_order_share_one_used_descriptor()
    {
        using var f = new PackedRingFixture(16);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        // Chains of 2, 1 and 2 slots: the batch covers slots 0-4.
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(0), 12), VirtqBuffer.Readable(Iova(64), 60)], 10, out _));
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(128), 72)], 11, out _));
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(256), 12), VirtqBuffer.Readable(Iova(320), 60)], 12, out var lastId));
        driver.Publish();
        for (int i = 0; i < 3; i++) Assert.True(device.PushUsed(Pop(device).Id, 0));

        Assert.False(IsUsed(f, 0)); // nothing visible before PublishUsed
        device.PublishUsed();
        Assert.True(IsUsed(f, 0));
        Assert.Equal(lastId, f.Ring.Desc[0].Id);
        Assert.Equal(0u, f.Ring.Desc[0].Len);
        Assert.Equal(AvailUsed, f.Ring.Desc[0].Flags); // no WRITE: nothing was written
        for (int slot = 1; slot < 5; slot++) Assert.False(IsUsed(f, slot)); // only one descriptor written

        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        Assert.Equal(3, driver.PollUsed(done));
        Assert.Equal([(nint)10, 11, 12], done[..3].ToArray().Select(c => c.Cookie));
        Assert.Equal(16, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void A_writable_buffer_ends_the_batch_and_keeps_its_own_length()
    {
        using var f = new PackedRingFixture(16);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(0), 72)], 0, out _));
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(128), 72)], 1, out var secondId));
        Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(256), 100)], 2, out var writableId));
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(512), 72)], 3, out var fourthId));
        driver.Publish();
        for (int i = 0; i < 4; i++)
        {
            var c = Pop(device);
            Assert.True(device.PushUsed(c.Id, c.WritableBytes != 0 ? 40u : 0));
        }
        device.PublishUsed();

        // Slot 0: the batch of the first two; slot 2: the writable one with its length; slot 3: a new batch.
        Assert.Equal(secondId, f.Ring.Desc[0].Id);
        Assert.False(IsUsed(f, 1));
        Assert.Equal(writableId, f.Ring.Desc[2].Id);
        Assert.Equal(40u, f.Ring.Desc[2].Len);
        Assert.Equal(AvailUsed | PackedDescriptor.FlagWrite, f.Ring.Desc[2].Flags);
        Assert.Equal(fourthId, f.Ring.Desc[3].Id);

        Span<VirtqCompletion> done = stackalloc VirtqCompletion[8];
        Assert.Equal(4, driver.PollUsed(done));
        Assert.Equal(40u, done[2].Length);
        Assert.Equal(16, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }

    [Fact]
    public void A_buffer_returned_out_of_order_gets_its_own_descriptor()
    {
        using var f = new PackedRingFixture(8);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: true);
        for (int slot = 0; slot < 3; slot++) f.PutAvailable(slot, Iova(slot * 128), 72, id: (ushort)(5 + slot));
        var a = Pop(device); var b = Pop(device); var c = Pop(device);
        // b first: it is not the oldest buffer taken, so no batch can cover it.
        Assert.True(device.PushUsed(b.Id, 0));
        Assert.True(device.PushUsed(a.Id, 0));
        Assert.True(device.PushUsed(c.Id, 0));
        device.PublishUsed();
        Assert.Equal([(ushort)6, 5, 7], new[] { f.Ring.Desc[0].Id, f.Ring.Desc[1].Id, f.Ring.Desc[2].Id });
        Assert.True(IsUsed(f, 0) && IsUsed(f, 1) && IsUsed(f, 2));
        Assert.Equal(0ul, device.Errors.Total);
    }

    [Fact]
    public void Without_in_order_every_buffer_gets_a_descriptor()
    {
        using var f = new PackedRingFixture(8);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, inOrder: false);
        for (int slot = 0; slot < 3; slot++) f.PutAvailable(slot, Iova(slot * 128), 72, id: (ushort)slot);
        for (int i = 0; i < 3; i++) Assert.True(device.PushUsed(Pop(device).Id, 0));
        device.PublishUsed();
        for (int slot = 0; slot < 3; slot++)
        {
            Assert.True(IsUsed(f, slot));
            Assert.Equal((ushort)slot, f.Ring.Desc[slot].Id);
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(16)]
    public void Batches_across_the_ring_end_for_many_laps(int size)
    {
        // Chains of 1-3 slots, bursts of 1-6, every fourth chain writable: batches start and end
        // anywhere, cross the end of the ring, and the wrap bits are those of the batch's first slot.
        using var f = new PackedRingFixture(size);
        var driver = new PackedVirtqueueDriver(f.Ring, eventIdx: true, inOrder: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, eventIdx: true, inOrder: true);
        var rng = new Random(7);
        Span<VirtqBuffer> chain = stackalloc VirtqBuffer[3];
        Span<VirtqSegment> segs = stackalloc VirtqSegment[8];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[16];
        long added = 0, reclaimed = 0;
        for (int round = 0; round < 20_000; round++)
        {
            int burst = rng.Next(1, 7);
            for (int i = 0; i < burst; i++)
            {
                int len = rng.Next(1, 4);
                bool writable = added % 4 == 3;
                for (int j = 0; j < len; j++)
                    chain[j] = writable ? VirtqBuffer.Writable(Iova(j * 256), 100) : VirtqBuffer.Readable(Iova(j * 256), 50);
                if (!driver.TryAdd(chain[..len], (nint)added, out _)) break;
                added++;
            }
            driver.Publish();
            int popped = 0;
            while (device.TryPop(segs, out var c) == VirtqPop.Chain)
            {
                Assert.True(device.PushUsed(c.Id, c.WritableBytes != 0 ? 33u : 0));
                popped++;
            }
            device.PublishUsed();
            int n = driver.PollUsed(done);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal((nint)reclaimed, done[i].Cookie);
                Assert.Equal(reclaimed % 4 == 3 ? 33u : 0u, done[i].Length);
                reclaimed++;
            }
            Assert.Equal(0, driver.Outstanding);
        }
        Assert.Equal(added, reclaimed);
        Assert.True(added > 40_000);
        Assert.Equal(size, driver.FreeDescriptors);
        Assert.Equal(0ul, driver.Errors.Total + device.Errors.Total);
    }
}
