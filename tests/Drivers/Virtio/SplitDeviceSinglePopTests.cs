using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// <see cref="SplitVirtqueueDevice.TryPopSingleFlat"/>: takes the common chain (one descriptor, in the
/// largest range) as TryPop would, and declines everything else without taking or counting it, so
/// that TryPop, which the caller goes on with, takes or counts it once.
/// </summary>
public unsafe class SplitDeviceSinglePopTests
{
    const ushort Next = VirtqDescriptor.FlagNext, Write = VirtqDescriptor.FlagWrite, Indirect = VirtqDescriptor.FlagIndirect;

    static ulong Iova(int offset) => SplitRingFixture.Iova(offset);

    static (SplitRingFixture, SplitVirtqueueDevice) Setup()
    {
        var f = new SplitRingFixture(8);
        return (f, new SplitVirtqueueDevice(f.Ring, f.Memory, indirectDesc: true));
    }

    [Fact]
    public void Takes_one_descriptor_chains_already_seen_available_in_ring_order()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(3, Iova(0x100), 72);
        f.PutDescriptor(6, Iova(0x300), 100, Write);
        f.OfferHead(3);
        f.OfferHead(6);
        VirtqSegment seg = default;
        VirtqChain chain = default;
        Assert.False(device.TryPopSingleFlat(ref seg, ref chain)); // avail->idx not read yet: TryPop's to read
        Assert.Equal(2, device.AvailableCount);

        Assert.True(device.TryPopSingleFlat(ref seg, ref chain));
        Assert.Equal((ushort)3, chain.Id);
        Assert.Equal(1, chain.Segments);
        Assert.Equal(72u, chain.ReadableBytes);
        Assert.Equal(0u, chain.WritableBytes);
        Assert.True(seg.Data == f.Arena + 0x100);
        Assert.Equal(72u, seg.Length);
        Assert.False(seg.Writable);

        Assert.True(device.TryPopSingleFlat(ref seg, ref chain));
        Assert.Equal((ushort)6, chain.Id);
        Assert.Equal(0u, chain.ReadableBytes);
        Assert.Equal(100u, chain.WritableBytes);
        Assert.True(seg.Writable);
        Assert.False(device.TryPopSingleFlat(ref seg, ref chain)); // nothing more seen available

        Assert.True(device.PushUsed(3, 0));
        Assert.True(device.PushUsed(6, 100));
        Assert.False(device.PushUsed(6, 100)); // in flight once: returned once
        device.PublishUsed();
        Assert.Equal((ushort)2, *f.Ring.UsedIdx);
        Assert.Equal(1ul, device.Errors.Total); // the second return above, and nothing else
    }

    [Theory]
    [InlineData(Next, 0u, 0)]          // a chain
    [InlineData(Indirect, 16u, 0)]     // a table
    [InlineData((ushort)0, 0u, 0)]     // zero length
    [InlineData((ushort)0, 72u, -1)]   // below the memory
    [InlineData((ushort)0, 72u, 1)]    // past its end
    public void Declines_anything_else_untaken_and_uncounted_and_TryPop_then_handles_it(ushort flags, uint len, int where)
    {
        var (f, device) = Setup();
        using var owned = f;
        ulong addr = where switch { -1 => SplitRingFixture.GuestBase - 0x1000, 1 => Iova(SplitRingFixture.ArenaSize - 8), _ => Iova(0x100) };
        if (flags == Next) { f.PutDescriptor(0, Iova(0x100), 12, Next, next: 1); f.PutDescriptor(1, Iova(0x200), 60); }
        else if (flags == Indirect) f.PutDescriptor(0, Iova(0x400), len, Indirect);
        else f.PutDescriptor(0, addr, len);
        if (flags == Indirect) *(VirtqDescriptor*)(f.Arena + 0x400) = new VirtqDescriptor { Addr = Iova(0x100), Len = 72 };
        f.OfferHead(0);
        Assert.Equal(1, device.AvailableCount);

        VirtqSegment seg = default;
        VirtqChain chain = default;
        Assert.False(device.TryPopSingleFlat(ref seg, ref chain));
        Assert.Equal((ushort)0, device.LastAvailIndex);
        Assert.Equal(0ul, device.Errors.Total);

        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        var r = device.TryPop(segs, out var popped);
        Assert.Equal((ushort)1, device.LastAvailIndex);
        Assert.Equal((ushort)0, popped.Id);
        if (flags != 0) Assert.Equal(VirtqPop.Chain, r); // a chain and a table are TryPop's to take
        else
        {
            Assert.Equal(VirtqPop.Dropped, r);            // a bad descriptor is TryPop's to count, once
            Assert.Equal(1ul, device.Errors.Total);
        }
    }

    [Fact]
    public void A_head_in_flight_or_out_of_range_is_left_to_TryPop_to_count()
    {
        var (f, device) = Setup();
        using var owned = f;
        f.PutDescriptor(2, Iova(0x100), 72);
        f.OfferHead(2);
        f.OfferHead(2);   // again, while in flight
        f.OfferHead(9);   // past the ring
        Assert.Equal(3, device.AvailableCount);
        VirtqSegment seg = default;
        VirtqChain chain = default;
        Assert.True(device.TryPopSingleFlat(ref seg, ref chain));
        Assert.False(device.TryPopSingleFlat(ref seg, ref chain));
        Assert.Equal(0ul, device.Errors.Total);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.HeadInFlight);
        Assert.False(device.TryPopSingleFlat(ref seg, ref chain));
        Assert.Equal(VirtqPop.Dropped, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.HeadOutOfRange);
        Assert.Equal(2ul, device.Errors.Total);
    }
}
