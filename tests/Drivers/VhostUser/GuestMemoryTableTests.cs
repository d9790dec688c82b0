using Datapath.Drivers.VhostUser.Backend;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// <see cref="GuestMemoryTable.TryTranslate"/> with several regions, in whatever order the front-end
/// sent them: an address translates into its own region only, whole or not at all. The table is
/// built from region records alone (no mapping is touched: translation is arithmetic).
/// </summary>
public class GuestMemoryTableTests
{
    // Guest-adjacent regions of three sizes, each mapped somewhere else locally, as DPDK's virtio-user
    // on hugepages sends them: small segment lists first, the mbuf pool's last.
    static readonly GuestMemoryTable.Region Small = new(0x1000_0000, 0x20_0000, 0x7f00_1000_0000, 0, 0x5000_0000, 0x20_0000);
    static readonly GuestMemoryTable.Region Middle = new(0x1020_0000, 0x80_0000, 0x7f00_1020_0000, 0, 0x3000_0000, 0x80_0000);
    static readonly GuestMemoryTable.Region Large = new(0x2000_0000, 0x1000_0000, 0x7f00_2000_0000, 0x1000, 0x7000_0000, 0x1000_1000);

    public static TheoryData<int[]> Orders => new() { new[] { 0, 1, 2 }, new[] { 2, 1, 0 }, new[] { 1, 2, 0 } };

    static GuestMemoryTable Table(int[] order)
    {
        GuestMemoryTable.Region[] all = [Small, Middle, Large];
        return GuestMemoryTable.From([.. order.Select(i => all[i])]);
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void Each_address_lands_in_its_own_region_whatever_the_order_they_came_in(int[] order)
    {
        var t = Table(order);
        foreach (var r in new[] { Small, Middle, Large })
        {
            Assert.True(t.TryTranslate(r.GuestPhysAddr, 1, out nint first));
            Assert.Equal(r.Local, first);
            Assert.True(t.TryTranslate(r.GuestPhysAddr + r.Size - 64, 64, out nint last));   // the last line, whole
            Assert.Equal(r.Local + (nint)(r.Size - 64), last);
        }
        Assert.Equal(Large.MapBase + 0x1000, Large.Local);   // the mmap offset is applied
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void A_buffer_that_is_not_inside_one_region_does_not_translate(int[] order)
    {
        var t = Table(order);
        // Small and Middle are adjacent in guest addresses but not locally: a buffer across the seam
        // would run off Small's mapping.
        Assert.False(t.TryTranslate(Middle.GuestPhysAddr - 8, 16, out _));
        Assert.False(t.TryTranslate(Large.GuestPhysAddr + Large.Size - 8, 16, out _));   // past the end
        Assert.False(t.TryTranslate(Large.GuestPhysAddr - 1, 1, out _));                 // the gap below Large
        Assert.False(t.TryTranslate(0, 1, out _));
        Assert.False(t.TryTranslate(ulong.MaxValue - 3, 8, out _));                        // wraps 2^64
        Assert.False(t.TryTranslate(Large.GuestPhysAddr, uint.MaxValue, out _));
        Assert.False(GuestMemoryTable.Empty.TryTranslate(Large.GuestPhysAddr, 1, out _));
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void A_front_end_address_lands_in_its_own_region_and_nowhere_across_or_outside(int[] order)
    {
        var t = Table(order);
        foreach (var r in new[] { Small, Middle, Large })
        {
            Assert.True(t.TryTranslateUser(r.UserAddr + 0x40, 64, out nint p));
            Assert.Equal(r.Local + 0x40, p);
            Assert.True(t.TryTranslateUser(r.UserAddr, r.Size, out nint whole));          // a whole region (a ring can be large)
            Assert.Equal(r.Local, whole);
        }
        Assert.False(t.TryTranslateUser(Middle.UserAddr - 8, 16, out _));                 // across the Small/Middle seam
        Assert.False(t.TryTranslateUser(Large.UserAddr + Large.Size - 8, 16, out _));     // past the end
        Assert.False(t.TryTranslateUser(Large.UserAddr, Large.Size + 1, out _));
        Assert.False(t.TryTranslateUser(Large.GuestPhysAddr, 1, out _));                  // a guest physical address is not one
        Assert.False(t.TryTranslateUser(ulong.MaxValue - 3, 8, out _));                   // wraps 2^64
        Assert.False(GuestMemoryTable.Empty.TryTranslateUser(Large.UserAddr, 1, out _));
    }
}
