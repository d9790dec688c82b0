using Datapath.Drivers.VhostUser;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Drivers.Virtio;
using Datapath.Tests.Drivers.Virtio;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// Behind a vIOMMU the driver maps each IOVA range for reading, writing or both (IOTLB_MSG update).
/// The device takes a buffer only through a mapping that allows what it will do with it: read a
/// device-readable buffer, write a device-writable one. A range mapped without that permission is
/// not used: the ring waits on it as on a miss, and nothing is written through a read-only mapping.
/// </summary>
public unsafe class IotlbPermissionTests
{
    // The front-end's virtual addresses of the fixture's arena, and the IOVAs its buffers are at.
    const ulong UserBase = 0x7f00_0000_0000, ReadOnlyIova = 0x10_0000, WritableIova = 0x20_0000;

    static Iotlb Over(PackedRingFixture f)
    {
        var table = GuestMemoryTable.From([new GuestMemoryTable.Region(0, PackedRingFixture.ArenaSize, UserBase, 0, (nint)f.Arena, PackedRingFixture.ArenaSize)]);
        var iotlb = new Iotlb(() => table);
        iotlb.Update(ReadOnlyIova, 0x1000, UserBase, IotlbMessage.PermRead);
        iotlb.Update(WritableIova, 0x1000, UserBase + 0x1000, IotlbMessage.PermReadWrite);
        return iotlb;
    }

    [Fact]
    public void The_lookup_needs_the_permission_of_the_access()
    {
        using var f = new PackedRingFixture(8);
        var iotlb = Over(f);
        Assert.True(iotlb.TryTranslate(ReadOnlyIova, 64, deviceWrites: false, out nint read));
        Assert.Equal((nint)f.Arena, read);
        Assert.False(iotlb.TryTranslate(ReadOnlyIova, 64, deviceWrites: true, out _));
        Assert.True(iotlb.TryTranslate(WritableIova, 64, deviceWrites: true, out nint written));
        Assert.Equal((nint)(f.Arena + 0x1000), written);
    }

    [Theory]
    [InlineData(false)] // one buffer at a time (TryPop)
    [InlineData(true)]  // a line of four (TryPopBatch through the IOTLB)
    public void A_writable_buffer_in_a_read_only_mapping_is_not_taken(bool line)
    {
        using var f = new PackedRingFixture(8);
        var device = new PackedVirtqueueDevice(f.Ring, Over(f), inOrder: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Span<VirtqChain> chains = stackalloc VirtqChain[4];
        for (int s = 0; s < 4; s++)
            f.PutAvailable(s, (s == 2 ? ReadOnlyIova : WritableIova) + (ulong)s * 256, 256, (ushort)s, PackedDescriptor.FlagWrite);

        if (line) Assert.False(device.TryPopBatch(segs, chains));
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out _));
        // Slot 2 waits: the ring reports nothing available, as for an IOTLB miss.
        Assert.Equal(VirtqPop.Empty, device.TryPop(segs, out _));
        Assert.Equal((ushort)2, device.LastAvailIndex);
        Assert.Equal(1ul, device.Errors.TranslationPending);

        // Read-only is enough for a buffer the device only reads.
        f.PutAvailable(2, ReadOnlyIova + 512, 256, 2);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c));
        Assert.Equal(256u, c.ReadableBytes);
        Assert.Equal((nint)(f.Arena + 512), (nint)segs[0].Data);
    }

    [Fact]
    public void A_split_ring_waits_on_a_writable_descriptor_in_a_read_only_mapping()
    {
        using var f = new SplitRingFixture(8);
        var table = GuestMemoryTable.From([new GuestMemoryTable.Region(0, SplitRingFixture.ArenaSize, UserBase, 0, (nint)f.Arena, SplitRingFixture.ArenaSize)]);
        var iotlb = new Iotlb(() => table);
        iotlb.Update(ReadOnlyIova, 0x1000, UserBase, IotlbMessage.PermRead);
        var device = new SplitVirtqueueDevice(f.Ring, iotlb);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        f.PutDescriptor(0, ReadOnlyIova, 256, VirtqDescriptor.FlagWrite);
        f.OfferHead(0);

        Assert.Equal(VirtqPop.Empty, device.TryPop(segs, out _));
        Assert.Equal(1ul, device.Errors.TranslationPending);
    }
}
