namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// One virtio-net virtqueue on the driver side, whatever the transport: vhost-user (virtio-user, the
/// doorbell an eventfd, descriptors holding our virtual addresses) or virtio-pci (a notify register,
/// descriptors holding IOVAs). The control plane reads its vring index, size and ring addresses, the
/// index to resume at after a backend restart, and its counters.
/// </summary>
public abstract unsafe class VirtioNetQueue : IDisposable
{
    protected VirtioNetQueue(uint vringIndex, int size, QueueAddressing addressing)
    {
        VringIndex = vringIndex;
        Size = size;
        Doorbell = addressing.Doorbell ?? new EventFdDoorbell();
        UseIova = addressing.UseIova;
    }

    /// <summary>How the device is told to look at the ring.</summary>
    public QueueDoorbell Doorbell { get; }

    /// <summary>Descriptors carry packet IOVAs (a PCI device) rather than virtual addresses (vhost-user memory table).</summary>
    protected readonly bool UseIova;

    /// <summary>The eventfds of a vhost-user queue (SET_VRING_KICK/CALL); -1 for other transports.</summary>
    public int KickFd => (Doorbell as EventFdDoorbell)?.KickFd ?? -1;
    public int CallFd => (Doorbell as EventFdDoorbell)?.CallFd ?? -1;

    /// <summary>vhost-user vring index: rx of pair q is 2q, tx is 2q+1 (virtio 1.2 §5.1.2), control last.</summary>
    public uint VringIndex { get; }
    public int Size { get; }

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

    /// <summary>Available-buffer notifications sent (virtio 1.2 §2.7.13.4).</summary>
    public ulong Kicks;
    /// <summary>Values from the backend that we refused (bad ids, lengths, headers), each counted and dropped.</summary>
    public abstract ulong HostileValues { get; }

    protected void Kick()
    {
        Doorbell.Ring();
        Kicks++;
    }

    // Ring reset hand-off (control thread → the lcore polling this queue): 0 none, 1 asked, 2 under way.
    int _resetState;

    /// <summary>
    /// Data path, first thing in a burst: false when the ring must not be touched in this burst. A
    /// reset asked for by the control thread is done here, on the polling lcore, so no burst ever
    /// runs beside it; one volatile read per burst otherwise.
    /// </summary>
    protected bool ReadyForBurst()
    {
        if (Volatile.Read(ref _resetState) == 0) return true;
        TryTakeReset();
        return false;
    }

    /// <summary>Does an asked-for reset if no other thread has taken it; whoever wins the exchange does it.</summary>
    bool TryTakeReset()
    {
        if (Interlocked.CompareExchange(ref _resetState, 2, 1) != 1) return false;
        ResetRing();
        Volatile.Write(ref _resetState, 0);
        return true;
    }

    /// <summary>Frees what the ring holds and starts it again as new (on whichever thread owns the reset).</summary>
    protected virtual void ResetRing() => throw new NotSupportedException($"{GetType().Name} cannot reset its ring");

    /// <summary>
    /// Control thread: has the ring started again as new (a packed ring after a back-end restart) and
    /// returns once it has. The polling lcore does it at its next burst; if no lcore polls the queue
    /// within <paramref name="takeOverAfter"/>, this thread does it (a burst lasts microseconds).
    /// </summary>
    public void Reset(TimeSpan takeOverAfter)
    {
        Interlocked.Exchange(ref _resetState, 1);
        long deadline = Environment.TickCount64 + (long)takeOverAfter.TotalMilliseconds;
        while (Volatile.Read(ref _resetState) != 0)
        {
            if (Environment.TickCount64 > deadline && TryTakeReset()) return;
            Thread.Sleep(1);
        }
    }

    /// <summary>Makes the backend look at the ring (after a (re)connection), if it wants kicks.</summary>
    public abstract void Wake();

    /// <summary>Frees every packet still in the ring (the port is stopping; no backend touches it now).</summary>
    public abstract void Release();

    public void Dispose()
    {
        Release();
        Doorbell.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// What a queue needs from its transport: the doorbell (null: make vhost-user eventfds) and whether
/// descriptors carry IOVAs. <see cref="VhostUser"/> is the default.
/// </summary>
public readonly record struct QueueAddressing(QueueDoorbell? Doorbell, bool UseIova)
{
    public static QueueAddressing VhostUser => default;
}
