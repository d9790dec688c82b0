using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// Where a restarted device resumes a packed ring (vhost-user SET_VRING_BASE): after every slot the
/// old device marked used, whether or not the driver has polled them yet, with the wrap counter.
/// </summary>
public unsafe class PackedResumeBaseTests
{
    static ulong Iova(int offset) => PackedRingFixture.Iova(offset);

    [Fact]
    public void A_fresh_ring_resumes_at_slot_0_of_lap_1()
    {
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring);
        Assert.Equal(PackedVringBase.Encode(0, true), driver.ResumeBase());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Unpolled_used_chains_are_skipped_by_their_length(bool inOrder)
    {
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring, inOrder: inOrder);
        // a: two slots (0, 1); b: one slot (2); c: one slot (3), never used.
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(0), 12), VirtqBuffer.Readable(Iova(64), 64)], 10, out var a));
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(128), 64)], 11, out var b));
        Assert.True(driver.TryAdd([VirtqBuffer.Readable(Iova(256), 64)], 12, out _));
        driver.Publish();
        if (inOrder) f.PutUsed(0, b, 0);   // §2.8.8: one used descriptor for the batch a, b
        else { f.PutUsed(0, a, 0); f.PutUsed(2, b, 0); }
        Assert.Equal(PackedVringBase.Encode(3, true), driver.ResumeBase());
        // Polling changes nothing: the answer is about the device's position, not ours.
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[1];
        driver.PollUsed(done);
        Assert.Equal(PackedVringBase.Encode(3, true), driver.ResumeBase());
    }

    [Fact]
    public void The_wrap_counter_flips_past_the_last_slot()
    {
        using var f = new PackedRingFixture(4);
        var driver = new PackedVirtqueueDriver(f.Ring);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        for (int i = 0; i < 4; i++) Assert.True(driver.TryAdd([VirtqBuffer.Writable(Iova(64 * i), 64)], 10 + i, out _));
        driver.Publish();
        for (int i = 0; i < 4; i++) f.PutUsed(i, (ushort)(3 - i), 64); // out of order ids, slots in order
        Assert.Equal(PackedVringBase.Encode(0, false), driver.ResumeBase());
        Assert.Equal(4, driver.PollUsed(done));
        Assert.Equal(PackedVringBase.Encode(0, false), driver.ResumeBase());
    }
}
