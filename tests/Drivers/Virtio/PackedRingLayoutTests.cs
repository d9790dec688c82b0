using System.Runtime.CompilerServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

public class PackedRingLayoutTests
{
    [Fact]
    public void Descriptor_ring_then_driver_and_device_event_areas()
    {
        var l = new PackedRingLayout(100); // packed sizes need not be powers of two
        Assert.Equal(1600, l.DriverEventOffset);
        Assert.Equal(1604, l.DeviceEventOffset);
        Assert.Equal(1608, l.TotalSize);
        Assert.Equal(16, Unsafe.SizeOf<PackedDescriptor>());
        Assert.Equal(4, Unsafe.SizeOf<PackedEventSuppression>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedRingLayout(32769));
    }
}
