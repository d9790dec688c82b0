using System.Runtime.CompilerServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

public class SplitRingLayoutTests
{
    [Fact]
    public void Parts_are_placed_back_to_back_with_spec_alignment()
    {
        var l = new SplitRingLayout(256);
        Assert.Equal(0, l.DescOffset);
        Assert.Equal(256 * 16, l.AvailOffset);            // §2.7.5: 16 bytes per descriptor
        Assert.Equal(4096 + 6 + 512 + 2, l.UsedOffset);   // avail: flags, idx, ring[256], used_event; then align 4
        Assert.Equal(l.UsedOffset + 6 + 256 * 8, l.TotalSize);
    }

    [Fact]
    public void Legacy_used_ring_alignment_is_a_page()
    {
        var l = new SplitRingLayout(256, usedAlign: 4096);
        Assert.Equal(8192, l.UsedOffset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(65536)]
    public void Queue_size_must_be_a_power_of_two_up_to_32768(int size)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new SplitRingLayout(size));

    [Fact]
    public void Wire_structures_have_spec_sizes()
    {
        Assert.Equal(16, Unsafe.SizeOf<VirtqDescriptor>());
        Assert.Equal(8, Unsafe.SizeOf<VirtqUsedElement>());
        Assert.Equal(VirtioNetHeader.Size, Unsafe.SizeOf<VirtioNetHeader>());
    }

    [Theory]
    [InlineData(0, 1, 0, true)]         // event at old: crossed
    [InlineData(5, 10, 0, true)]
    [InlineData(10, 10, 0, false)]      // event not yet reached
    [InlineData(65535, 2, 65534, true)] // across the 16-bit wrap
    [InlineData(1, 2, 65534, true)]
    [InlineData(3, 2, 65534, false)]
    public void Need_event_is_mod_2_16(int eventIdx, int next, int old, bool expected)
        => Assert.Equal(expected, VirtqEvent.NeedEvent((ushort)eventIdx, (ushort)next, (ushort)old));

    [Fact]
    public unsafe void Guest_memory_translation_is_bounds_checked()
    {
        var m = new GuestMemoryRegion(0x1000, 0x7000_0000, 0x1000);
        Assert.True(m.TryTranslate(0x1000, 0x1000, out var p));
        Assert.Equal((nint)0x7000_0000, p);
        Assert.False(m.TryTranslate(0xfff, 1, out _));
        Assert.False(m.TryTranslate(0x1800, 0x801, out _));
        Assert.False(m.TryTranslate(ulong.MaxValue - 1, 16, out _)); // wraps 2^64
    }
}
