using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// The devices translate descriptor addresses through the flat map directly when the memory is one
/// (<see cref="IGuestMemory.Flat"/>), and through the interface otherwise (a device IOTLB). Both ways
/// give the same buffers; the packed batch takes a line only when all four addresses are in the
/// largest range and leaves the rest to TryPop, which looks in every range.
/// </summary>
public unsafe class DeviceTranslationPathTests
{
    const int Batch = PackedVirtqueueDevice.BatchSize;
    // The fixture's arena as two ranges: most of it at GuestBase (the largest), its last 64 KiB at a
    // guest address of its own, far away, as a second, smaller region of a front-end's memory.
    const int SmallAt = PackedRingFixture.ArenaSize - 0x10000;
    const ulong SmallGuest = 0x9000_0000;

    /// <summary>Translation only through the interface: no flat map (as an IOTLB).</summary>
    sealed class InterfaceOnly(IGuestMemory inner) : IGuestMemory
    {
        public bool TryTranslate(ulong address, uint length, out nint local) => inner.TryTranslate(address, length, out local);
    }

    static GuestAddressMap TwoRanges(byte* arena) => new([
        (SmallGuest, 0x10000, (nint)(arena + SmallAt)),
        (PackedRingFixture.GuestBase, SmallAt, (nint)arena),
    ]);

    sealed class TwoRegionMemory(GuestAddressMap map) : IGuestMemory
    {
        public GuestAddressMap Flat => map;
        public bool TryTranslate(ulong address, uint length, out nint local) => map.TryTranslate(address, length, out local);
    }

    [Fact]
    public void The_map_finds_each_range_and_nothing_across_or_outside_them()
    {
        using var f = new PackedRingFixture(16);
        var map = TwoRanges(f.Arena);
        Assert.Equal(2, map.Count);
        Assert.True(map.TryTranslate(SmallGuest + 0x100, 64, out nint small));
        Assert.Equal((nint)(f.Arena + SmallAt + 0x100), small);
        Assert.False(map.TryTranslateLargest(SmallGuest + 0x100, 64, out _)); // the small range is not the largest
        Assert.True(map.TryTranslateLargest(PackedRingFixture.Iova(0x200), 64, out nint large));
        Assert.Equal((nint)(f.Arena + 0x200), large);
        Assert.False(map.TryTranslate(PackedRingFixture.Iova(SmallAt - 8), 16, out _));  // runs off the largest
        Assert.False(map.TryTranslate(SmallGuest + 0x10000 - 8, 16, out _));               // runs off the small one
        Assert.False(map.TryTranslate(SmallGuest - 1, 1, out _));
        Assert.False(map.TryTranslate(ulong.MaxValue - 3, 8, out _));                       // wraps 2^64
        var empty = new GuestAddressMap([]);
        Assert.Equal(0, empty.Count);
        Assert.False(empty.TryTranslate(0, 1, out _));
        Assert.False(empty.TryTranslateLargest(0, 0, out _));
    }

    [Fact]
    public void A_line_with_a_buffer_outside_the_largest_range_is_left_to_TryPop_which_takes_it()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, new TwoRegionMemory(TwoRanges(f.Arena)), inOrder: true);
        for (int s = 0; s < 8; s++) f.PutAvailable(s, PackedRingFixture.Iova(s * 256), 72, (ushort)s);
        f.PutAvailable(2, SmallGuest + 0x400, 72, 2);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];

        Assert.False(device.TryPopBatch(segs, chains));
        Assert.Equal(0, device.LastAvailIndex);
        for (int s = 0; s < Batch; s++)
        {
            Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
            Assert.Equal((ushort)s, c.Id);
            Assert.Equal(s == 2 ? (nint)(f.Arena + SmallAt + 0x400) : (nint)(f.Arena + s * 256), (nint)segs[0].Data);
        }
        // The next line is all in the largest range: the batch takes it.
        Assert.True(device.TryPopBatch(segs, chains));
        Assert.Equal((nint)(f.Arena + 7 * 256), (nint)segs[3].Data);
        Assert.Equal(0ul, device.Errors.Total);
    }

    [Fact]
    public void Without_a_flat_map_the_packed_device_translates_through_the_interface_in_the_batch_too()
    {
        using var f = new PackedRingFixture(16);
        var device = new PackedVirtqueueDevice(f.Ring, new InterfaceOnly(f.Memory), inOrder: true);
        for (int s = 0; s < 8; s++) f.PutAvailable(s, PackedRingFixture.Iova(s * 256), 72, (ushort)s);
        f.PutAvailable(5, PackedRingFixture.Iova(PackedRingFixture.ArenaSize - 8), 72, 5); // runs off the arena
        Span<VirtqSegment> segs = stackalloc VirtqSegment[Batch];
        Span<VirtqChain> chains = stackalloc VirtqChain[Batch];

        Assert.True(device.TryPopBatch(segs, chains)); // slots 0-3, each address through the interface
        Assert.Equal((nint)(f.Arena + 3 * 256), (nint)segs[3].Data);
        Assert.False(device.TryPopBatch(segs, chains)); // slot 5 does not translate: the line is left to TryPop
        Assert.Equal(0ul, device.Errors.Total);
        for (int s = 4; s < 8; s++)
        {
            var r = device.TryPop(segs, out var c);
            Assert.Equal(s == 5 ? VirtqPop.Dropped : VirtqPop.Chain, r);
            if (s != 5) Assert.Equal((nint)(f.Arena + s * 256), (nint)segs[0].Data);
        }
        Assert.Equal(1ul, device.Errors.TranslationFailed);
    }

    [Fact]
    public void Without_a_flat_map_the_split_device_translates_through_the_interface()
    {
        using var f = new SplitRingFixture(16);
        var device = new SplitVirtqueueDevice(f.Ring, new InterfaceOnly(f.Memory));
        f.PutDescriptor(0, SplitRingFixture.Iova(0x300), 72);
        f.PutDescriptor(1, SplitRingFixture.Iova(SplitRingFixture.ArenaSize - 8), 72); // runs off the arena
        f.OfferHead(0);
        f.OfferHead(1);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];

        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));
        Assert.Equal((nint)(f.Arena + 0x300), (nint)segs[0].Data);
        Assert.NotEqual(VirtqPop.Chain, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.TranslationFailed);
    }
}
