using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// How a virtqueue tells its device "buffers are available" (virtio 1.2 §2.7.13.4): an eventfd for a
/// vhost-user backend, a register write for a PCI device. One virtual call per burst, never per packet.
/// </summary>
public abstract class QueueDoorbell : IDisposable
{
    public abstract void Ring();
    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>
/// vhost-user.rst, "SET_VRING_KICK / SET_VRING_CALL": two eventfds; ours are non-blocking so a kick
/// never waits and a call is never read (we poll).
/// </summary>
public sealed class EventFdDoorbell : QueueDoorbell
{
    public int KickFd { get; }
    public int CallFd { get; }

    public EventFdDoorbell()
    {
        KickFd = SystemCallException.Check(Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd", "kick");
        int call = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (call < 0) Libc.Close(KickFd);
        CallFd = SystemCallException.Check(call, "eventfd", "call");
    }

    public override void Ring() => Libc.EventFdSignal(KickFd);

    public override void Dispose()
    {
        Libc.Close(KickFd);
        Libc.Close(CallFd);
        base.Dispose();
    }
}

/// <summary>
/// virtio-pci (virtio 1.2 §4.1.5.2): the driver writes the queue's index (16 bits) to the queue's
/// notify address, cap.offset + queue_notify_off × notify_off_multiplier inside the notify BAR.
/// It stays silent until armed: §3.1.1 forbids notifying before DRIVER_OK, and rx queues fill their
/// rings (and would kick) while they are built.
/// </summary>
public sealed unsafe class MmioDoorbell(ushort* address, ushort queueIndex) : QueueDoorbell
{
    bool _armed;

    public void Arm() => _armed = true;

    public override void Ring()
    {
        if (_armed) Volatile.Write(ref *address, queueIndex);
    }
}
