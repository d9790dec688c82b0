using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VirtioUser;

/// <summary>
/// What the control plane needs from one virtqueue, whatever its format (split or packed):
/// its vring index, size and addresses for SET_VRING_NUM/ADDR, its doorbells for SET_VRING_KICK/CALL,
/// the index to resume at after the backend restarts, and its counters.
/// </summary>
public abstract unsafe class VirtioUserQueue : IDisposable
{
    protected VirtioUserQueue(uint vringIndex, int size)
    {
        VringIndex = vringIndex;
        Size = size;
        // vhost-user.rst, "SET_VRING_KICK / SET_VRING_CALL": eventfds; ours are non-blocking so a
        // kick never waits and a call is never read (we poll).
        KickFd = SystemCallException.Check(Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd", "kick");
        CallFd = SystemCallException.Check(Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd", "call");
    }

    /// <summary>vhost-user vring index: rx of pair q is 2q, tx is 2q+1 (virtio 1.2 §5.1.2), control last.</summary>
    public uint VringIndex { get; }
    public int Size { get; }
    public int KickFd { get; }
    public int CallFd { get; }

    /// <summary>Front-end virtual addresses of the ring parts (SET_VRING_ADDR).</summary>
    public abstract ulong DescAddress { get; }
    public abstract ulong AvailAddress { get; }
    public abstract ulong UsedAddress { get; }

    /// <summary>
    /// Where a (re)connected backend resumes (SET_VRING_BASE). Split: used->idx — every buffer made
    /// available after it is still ours and still in the ring, so the new backend takes them again;
    /// what the old one used is already reclaimed or will be (QEMU does the same after a backend crash).
    /// Packed: the slot after the last one the old backend marked used, with its wrap counter in bit 15
    /// (vhost-user.rst, "Ring states"; <see cref="Virtio.PackedVringBase"/>).
    /// </summary>
    public abstract uint ResumeBase();

    /// <summary>Available-buffer notification (virtio 1.2 §2.7.13.4): one eventfd write.</summary>
    public ulong Kicks;
    /// <summary>Values from the backend that we refused (bad ids, lengths, headers), each counted and dropped.</summary>
    public abstract ulong HostileValues { get; }

    protected void Kick()
    {
        Libc.EventFdSignal(KickFd);
        Kicks++;
    }

    /// <summary>Makes the backend look at the ring (after a (re)connection), if it wants kicks.</summary>
    public abstract void Wake();

    /// <summary>Frees every packet still in the ring (the port is stopping; no backend touches it now).</summary>
    public abstract void Release();

    public void Dispose()
    {
        Release();
        Libc.Close(KickFd);
        Libc.Close(CallFd);
        GC.SuppressFinalize(this);
    }
}
