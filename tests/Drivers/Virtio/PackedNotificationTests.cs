using Datapath.Drivers.Virtio;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>Event suppression on a packed ring (virtio 1.2 §2.8.10, §2.8.14), decided by our driver and device sides.</summary>
public unsafe class PackedNotificationTests
{
    static ulong Iova(int offset) => PackedRingFixture.Iova(offset);

    [Fact]
    public void Without_event_idx_notifications_follow_the_flags()
    {
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];

        driver.TryAdd([VirtqBuffer.Writable(Iova(0), 64)], 0, out _);
        driver.Publish();
        Assert.True(driver.NeedsNotify());

        // The device polls: RING_EVENT_FLAGS_DISABLE in the Device Area.
        device.DisableAvailNotifications();
        driver.TryAdd([VirtqBuffer.Writable(Iova(0), 64)], 1, out _);
        driver.Publish();
        Assert.False(driver.NeedsNotify());
        Assert.True(device.EnableAvailNotifications()); // buffers pending: poll again
        Assert.Equal(PackedEventSuppression.Enable, f.Ring.DeviceEvent->Flags);
        while (device.TryPop(segs, out var c) == VirtqPop.Chain) device.PushUsed(c.Id, 1);
        Assert.False(device.EnableAvailNotifications());

        // Used side: the driver disables used buffer notifications in the Driver Area.
        driver.DisableUsedNotifications();
        device.PublishUsed();
        Assert.False(device.NeedsInterrupt());
        Assert.True(driver.EnableUsedNotifications()); // two used buffers already waiting
        Assert.True(device.NeedsInterrupt());
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        Assert.Equal(2, driver.PollUsed(done));
        Assert.False(driver.EnableUsedNotifications());
    }

    [Fact]
    public void With_event_idx_notifications_follow_the_named_slot()
    {
        using var f = new PackedRingFixture(8);
        var driver = new PackedVirtqueueDriver(f.Ring, eventIdx: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, eventIdx: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];

        // DESC, slot 0 of lap 1: the device wants a kick when slot 0 becomes available.
        Assert.False(device.EnableAvailNotifications());
        Assert.Equal(PackedEventSuppression.Desc, f.Ring.DeviceEvent->Flags);
        Assert.Equal((ushort)0x8000, f.Ring.DeviceEvent->OffWrap);
        driver.TryAdd([VirtqBuffer.Writable(Iova(0), 64)], 0, out _);
        driver.Publish();
        Assert.True(driver.NeedsNotify());
        // The named slot is behind us now: a second buffer needs no second kick.
        driver.TryAdd([VirtqBuffer.Writable(Iova(0), 64)], 1, out _);
        driver.Publish();
        Assert.False(driver.NeedsNotify());

        // The driver wants a used buffer notification for slot 0 only.
        Assert.False(driver.EnableUsedNotifications());
        Assert.Equal((ushort)0x8000, f.Ring.DriverEvent->OffWrap);
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c0));
        device.PushUsed(c0.Id, 1);
        device.PublishUsed();
        Assert.True(device.NeedsInterrupt());
        Assert.Equal(VirtqPop.Chain, device.TryPop(segs, out var c1));
        device.PushUsed(c1.Id, 1);
        device.PublishUsed();
        Assert.False(device.NeedsInterrupt());
    }

    [Fact]
    public void Event_slot_in_the_previous_lap_is_compared_across_the_wrap()
    {
        using var f = new PackedRingFixture(4);
        var driver = new PackedVirtqueueDriver(f.Ring, eventIdx: true);
        var device = new PackedVirtqueueDevice(f.Ring, f.Memory, eventIdx: true);
        Span<VirtqSegment> segs = stackalloc VirtqSegment[4];
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[4];
        for (int i = 0; i < 3; i++) driver.TryAdd([VirtqBuffer.Writable(Iova(0), 8)], i, out _);
        driver.Publish();
        driver.NeedsNotify();
        while (device.TryPop(segs, out var c) == VirtqPop.Chain) device.PushUsed(c.Id, 8);
        device.PublishUsed();
        Assert.Equal(3, driver.PollUsed(done));

        // The device asks for slot 3 of lap 1; the driver then fills slots 3, 0, 1 (crossing into lap 0).
        f.SetDeviceEvent(PackedEventSuppression.Desc, PackedEventSuppression.OffWrapOf(3, true));
        for (int i = 0; i < 3; i++) driver.TryAdd([VirtqBuffer.Writable(Iova(0), 8)], i, out _);
        driver.Publish();
        Assert.True(driver.NeedsNotify());
        // Slot 2 of lap 1 was passed long ago — the driver is at slot 2 of lap 0 now: no kick.
        f.SetDeviceEvent(PackedEventSuppression.Desc, PackedEventSuppression.OffWrapOf(2, true));
        driver.TryAdd([VirtqBuffer.Writable(Iova(0), 8)], 3, out _);
        driver.Publish();
        Assert.False(driver.NeedsNotify());
    }

    [Theory]
    [InlineData(PackedEventSuppression.Enable, true, true)]
    [InlineData(PackedEventSuppression.Disable, true, false)]
    [InlineData(3, true, true)]                             // reserved value: notify rather than stall the peer
    [InlineData(PackedEventSuppression.Desc, false, true)]  // DESC without EVENT_IDX is invalid: notify
    public void Flags_decide_unless_desc_mode_was_negotiated(ushort flags, bool eventIdx, bool expected)
    {
        uint snapshot = (uint)flags << 16 | PackedEventSuppression.OffWrapOf(7, false); // an event slot that never matches
        Assert.Equal(expected, PackedEventSuppression.ShouldNotify(snapshot, eventIdx, size: 16, next: 2, wrap: true, moved: 1));
    }

    [Fact]
    public void Desc_mode_with_a_whole_lap_or_nothing_moved()
    {
        uint desc = (uint)PackedEventSuppression.Desc << 16 | PackedEventSuppression.OffWrapOf(9, true);
        Assert.False(PackedEventSuppression.ShouldNotify(desc, true, 16, next: 2, wrap: true, moved: 0));
        Assert.True(PackedEventSuppression.ShouldNotify(desc, true, 16, next: 2, wrap: true, moved: 16));
        // Moved from slot 8 to slot 10 of the same lap: slot 9 was passed.
        Assert.True(PackedEventSuppression.ShouldNotify(desc, true, 16, next: 10, wrap: true, moved: 2));
        Assert.False(PackedEventSuppression.ShouldNotify(desc, true, 16, next: 12, wrap: true, moved: 2));
    }
}
