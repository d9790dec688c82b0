using Datapath.Drivers.Virtio;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// One vring as the front-end configured it (vhost-user.rst "Starting and stopping rings"), and the
/// live device-side queue built from it that the data path polls.
///
/// Hand-off between the control thread and the lcore polling the ring, without a lock: the lcore
/// sets <see cref="_inUse"/> before reading <see cref="_live"/> and clears it after its burst; the
/// control thread clears <see cref="_live"/>, runs a barrier on every thread of the process, and
/// then waits for <see cref="_inUse"/> to drop before it touches anything the lcore could be using
/// (memory table, ring addresses, call fd). Either the lcore sees null, or the control thread sees
/// it busy. The fence the store → load order needs is paid by the rare side (an asymmetric Dekker,
/// as RCU and the .NET GC's suspension do): the lcore's poll has no locked instruction.
/// </summary>
public sealed class VhostVring
{
    public int Index { get; }

    // Control-plane state, touched only by the session's thread.
    public int Num;
    public VringAddress Addresses;
    public bool HasAddresses;
    /// <summary>SET_VRING_BASE as sent: split, the next avail index; packed, index | avail wrap &lt;&lt; 15.</summary>
    public uint Base;
    public int KickFd = -1;
    public int CallFd = -1;
    public int ErrFd = -1;
    /// <summary>SET_VRING_KICK received (the ring is started).</summary>
    public bool Started;
    /// <summary>SET_VRING_ENABLE (enabled from the start when protocol features are not negotiated).</summary>
    public bool Enabled;

    VringRuntime? _live;
    int _inUse;

    public VhostVring(int index) => Index = index;

    /// <summary>Data path: claims the ring for one burst; null when it is not running.</summary>
    public VringRuntime? Enter()
    {
        // Plain store, then load: the CPU may let the load pass the store, and Quiesce's process-wide
        // barrier is what orders them (see there). No locked instruction on every poll.
        Volatile.Write(ref _inUse, 1);
        var live = Volatile.Read(ref _live);
        if (live is null) Volatile.Write(ref _inUse, 0);
        return live;
    }

    /// <summary>Data path: ends the burst begun by a successful <see cref="Enter"/>.</summary>
    public void Exit() => Volatile.Write(ref _inUse, 0);

    public bool IsLive => Volatile.Read(ref _live) is not null;

    // Counters of runtimes already retired (a ring is rebuilt after every quiescing request), so
    // what users see in xstats only ever grows.
    ulong _badRetired, _oversizeRetired, _iotlbRetired;

    /// <summary>Control: folds a retired runtime's counters into the ring's totals.</summary>
    public void Retire(VringRuntime old)
    {
        var (bad, oversize, iotlb) = Read(old);
        _badRetired += bad;
        _oversizeRetired += oversize;
        _iotlbRetired += iotlb;
    }

    /// <summary>Descriptors the driver got wrong, frames too large for the buffers, IOTLB misses: since the port started.</summary>
    public (ulong BadDescriptors, ulong OversizeDrops, ulong IotlbMisses) Totals()
    {
        var (bad, oversize, iotlb) = Volatile.Read(ref _live) is { } live ? Read(live) : default;
        return (_badRetired + bad, _oversizeRetired + oversize, _iotlbRetired + iotlb);
    }

    static (ulong, ulong, ulong) Read(VringRuntime r) => r.Split is { } s
        ? (s.Errors.Total, r.DroppedOversize, s.Errors.TranslationPending)
        : (r.Packed!.Errors.Total, r.DroppedOversize, r.Packed.Errors.TranslationPending);

    /// <summary>The running queue's hostile-input counters (a copy; approximate while it runs).</summary>
    public SplitDeviceErrors? PeekErrors() => Volatile.Read(ref _live) is { } live ? live.Split?.Errors ?? default(SplitDeviceErrors) : null;

    /// <summary>Control: publishes a built runtime to the data path.</summary>
    public void Publish(VringRuntime runtime) => Volatile.Write(ref _live, runtime);

    /// <summary>Control: takes the runtime away and waits until no lcore is inside a burst on it.</summary>
    public VringRuntime? Quiesce()
    {
        var old = Interlocked.Exchange(ref _live, null);
        // Every thread runs a full barrier somewhere in its instruction stream before this returns.
        // An lcore whose barrier falls before its store to _inUse then reads _live after our null was
        // visible (our exchange is itself a full fence), and backs out; one whose barrier falls after
        // that store has it drained to memory, so the read below sees the lcore busy.
        Interlocked.MemoryBarrierProcessWide();
        var spin = new SpinWait();
        while (Volatile.Read(ref _inUse) != 0) spin.SpinOnce();
        return old;
    }

    /// <summary>Control: closes the ring's eventfds and forgets its configuration (after Quiesce).</summary>
    public void Reset()
    {
        CloseFd(ref KickFd);
        CloseFd(ref CallFd);
        CloseFd(ref ErrFd);
        Num = 0;
        Addresses = default;
        HasAddresses = false;
        Base = 0;
        Started = false;
        Enabled = false;
    }

    public static void CloseFd(ref int fd)
    {
        if (fd >= 0) Libc.Close(fd);
        fd = -1;
    }
}

/// <summary>What the data path needs for one running vring: the device-side queue and where to signal.</summary>
public sealed class VringRuntime
{
    public VringRuntime(SplitVirtqueueDevice queue, int callFd, int netHeaderSize, bool mergeable)
        : this(callFd, netHeaderSize, mergeable) => Split = queue;

    public VringRuntime(PackedVirtqueueDevice queue, int callFd, int netHeaderSize, bool mergeable)
        : this(callFd, netHeaderSize, mergeable) => Packed = queue;

    VringRuntime(int callFd, int netHeaderSize, bool mergeable)
    {
        CallFd = callFd;
        NetHeaderSize = netHeaderSize;
        Mergeable = mergeable;
    }

    /// <summary>The ring, in exactly one of its two formats (RING_PACKED negotiated or not).</summary>
    public SplitVirtqueueDevice? Split { get; }
    public PackedVirtqueueDevice? Packed { get; }
    /// <summary>virtio-net header bytes before each frame: 12 (VERSION_1 or MRG_RXBUF) or 10.</summary>
    public int NetHeaderSize { get; }
    /// <summary>
    /// Whether the driver's transmit headers can ask for anything: VIRTIO_NET_F_CSUM, the one host
    /// offload we offer, was negotiated. Without it the driver must leave flags and gso_type at zero
    /// (§5.1.6.2), so dequeue skips reading the header, a line of the driver's memory per frame.
    /// </summary>
    public bool ReadsTxHeader { get; init; } = true;
    /// <summary>LOG_ALL with a log base: where writes are logged; null when not migrating.</summary>
    public DirtyLog? Log { get; init; }
    /// <summary>For the log: the guest memory (local → gpa) and the used ring's guest address and size.</summary>
    public GuestMemoryTable? LogMemory { get; init; }
    public ulong UsedRingGpa { get; init; }
    public ulong UsedRingBytes { get; init; }

    /// <summary>Logs a write of <paramref name="length"/> bytes at a local address in guest memory.</summary>
    public unsafe void LogWrite(byte* local, ulong length)
    {
        if (Log is { } log && LogMemory!.TryLocalToGuest(local, out ulong gpa)) log.Mark(gpa, length);
    }

    /// <summary>The working arrays of this ring's bursts, made with it (the data path allocates nothing).</summary>
    internal BurstScratch Scratch { get; } = new();

    /// <summary>MRG_RXBUF: a frame may span several guest buffers.</summary>
    public bool Mergeable { get; }
    /// <summary>eventfd to write when the driver wants an interrupt; -1 = the driver polls.</summary>
    public int CallFd { get; }
    /// <summary>Errors on this ring that the queue itself does not count (oversized frames, no buffers).</summary>
    public ulong DroppedOversize;
    public ulong DroppedNoBuffer;

    /// <summary>Publishes used entries and signals the driver if it asked (EVENT_IDX / NO_INTERRUPT).</summary>
    public void Complete()
    {
        // The used ring changed: it is guest memory the front-end must copy again (VHOST_VRING_F_LOG).
        if (Log is { } log && UsedRingBytes > 0) log.Mark(UsedRingGpa, UsedRingBytes);
        bool interrupt;
        if (Split is { } s)
        {
            s.PublishUsed();
            interrupt = CallFd >= 0 && s.NeedsInterrupt();
        }
        else
        {
            Packed!.PublishUsed();
            interrupt = CallFd >= 0 && Packed.NeedsInterrupt();
        }
        if (interrupt) Libc.EventFdSignal(CallFd);
    }

    /// <summary>The GET_VRING_BASE value: split, the next avail index; packed, index | wrap &lt;&lt; 15.</summary>
    public uint VringBase => Split is { } s ? s.LastAvailIndex : Packed!.VringBase;
}
