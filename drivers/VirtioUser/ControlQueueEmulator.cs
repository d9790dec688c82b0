using Datapath.Drivers.VirtioNet;
using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VirtioUser;

/// <summary>
/// The device side of the control virtqueue, played by the front-end itself: vhost-user net
/// backends do not take the control queue (DPDK's virtio-user and QEMU keep it), so MQ_VQ_PAIRS_SET
/// becomes SET_VRING_ENABLE messages (vhost-user.rst, "Multiple queue support").
/// </summary>
public sealed unsafe class ControlQueueEmulator(SplitRing ring, byte* regionBase, ulong regionLength, Func<ushort, bool> setQueuePairs)
{
    readonly SplitVirtqueueDevice _device = new(ring, new GuestMemoryRegion((ulong)regionBase, (nint)regionBase, regionLength));

    /// <summary>Handles every command in the ring; called when the driver side notifies.</summary>
    public void Process()
    {
        Span<VirtqSegment> segments = stackalloc VirtqSegment[4];
        Span<byte> command = stackalloc byte[64];
        while (_device.TryPop(segments, out var chain) == VirtqPop.Chain)
        {
            // Gather the readable bytes; the ack is the first byte of the last (writable) segment.
            int n = 0;
            byte* ack = null;
            for (int i = 0; i < chain.Segments; i++)
            {
                var s = segments[i];
                if (s.Writable) { ack = s.Data; continue; }
                int take = Math.Min((int)s.Length, command.Length - n);
                new ReadOnlySpan<byte>(s.Data, take).CopyTo(command[n..]);
                n += take;
            }
            byte status = Handle(command[..n]);
            if (ack is not null) *ack = status;
            _device.PushUsed(chain.Id, ack is null ? 0u : 1u);
        }
        _device.PublishUsed();
    }

    byte Handle(ReadOnlySpan<byte> command)
    {
        if (command.Length < 4 || command[0] != NetControl.ClassMq || command[1] != NetControl.MqVqPairsSet) return NetControl.Error;
        ushort pairs = MemoryMarshal.Read<ushort>(command[2..]);
        if (pairs < NetControl.MqVqPairsMin) return NetControl.Error;
        return setQueuePairs(pairs) ? NetControl.Ok : NetControl.Error;
    }
}
