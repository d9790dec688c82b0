using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// The device IOTLB for a front-end behind a vIOMMU (vhost-user.rst "IOMMU support", VIRTIO_F_ACCESS_PLATFORM):
/// IOVA ranges the front-end mapped (IOTLB_MSG update), each to a front-end virtual address with read
/// and/or write permission. Descriptor and ring addresses are IOVAs; a lookup that finds no entry is
/// a miss, remembered for the control thread to ask the front-end about (back-end IOTLB_MSG miss).
///
/// Changed only by the control thread: additions publish a new array (copy-on-write) that the data
/// path picks up at its next lookup; removals happen while every ring is quiesced. Read lock-free.
/// Also the rings' <see cref="IGuestMemory"/>: IOVA → IOTLB → front-end VA → memory table → local.
/// </summary>
public sealed class Iotlb(Func<GuestMemoryTable> memory) : IGuestMemory
{
    public const int MaxEntries = 2048;

    readonly record struct Entry(ulong Iova, ulong Size, ulong UserAddr, byte Perm);

    Entry[] _entries = [];
    long _missIova = -1; // the latest miss, for the control thread (one outstanding at a time is enough)

    public int Count => _entries.Length;

    /// <summary>A miss is answered by the front-end's IOTLB update: the ring waits for it.</summary>
    public bool MissesAreTransient => true;

    /// <summary>IOTLB update: replaces what overlapped the new range.</summary>
    public void Update(ulong iova, ulong size, ulong userAddr, byte perm)
    {
        if (size == 0 || iova + size < iova || userAddr + size < userAddr)
            throw new VhostUserProtocolException($"peer sent an IOTLB update 0x{iova:x}+0x{size:x} that is empty or wraps");
        if ((perm & IotlbMessage.PermReadWrite) == 0 || (perm & ~IotlbMessage.PermReadWrite) != 0)
            throw new VhostUserProtocolException($"peer sent an IOTLB update with permission {perm}");
        var list = _entries.Where(e => e.Iova + e.Size <= iova || iova + size <= e.Iova).ToList();
        if (list.Count >= MaxEntries) throw new VhostUserProtocolException($"peer sent more than {MaxEntries} IOTLB entries");
        list.Add(new Entry(iova, size, userAddr, perm));
        list.Sort((a, b) => a.Iova.CompareTo(b.Iova));
        // Release: the new array is complete before a data-path lookup can see it.
        Volatile.Write(ref _entries, list.ToArray());
    }

    /// <summary>IOTLB invalidate: drops every entry the range touches.</summary>
    public void Invalidate(ulong iova, ulong size)
    {
        ulong end = size == 0 || iova + size < iova ? ulong.MaxValue : iova + size;
        _entries = _entries.Where(e => e.Iova + e.Size <= iova || end <= e.Iova).ToArray();
    }

    public void Clear() => _entries = [];

    /// <summary>
    /// IOVA range → front-end VA. Entries usually come a page at a time, so a buffer may span several:
    /// they must follow each other in both IOVA and VA (one contiguous local segment). A gap is a
    /// miss, remembered for the control thread (the first absent IOVA).
    /// </summary>
    public bool TryLookup(ulong iova, ulong length, byte perm, out ulong userAddr)
    {
        var entries = Volatile.Read(ref _entries);
        userAddr = 0;
        int i = Find(entries, iova);
        if (i < 0) return Miss(iova);
        ref readonly var first = ref entries[i];
        if ((first.Perm & perm) != perm) return false;
        ulong off = iova - first.Iova;
        userAddr = first.UserAddr + off;
        ulong covered = first.Size - off;
        ulong nextIova = first.Iova + first.Size, nextUser = first.UserAddr + first.Size;
        while (covered < length)
        {
            if (++i == entries.Length || entries[i].Iova != nextIova) return Miss(nextIova);
            ref readonly var e = ref entries[i];
            if (e.UserAddr != nextUser || (e.Perm & perm) != perm) return false; // not one segment: cannot be used
            covered += e.Size;
            nextIova += e.Size;
            nextUser += e.Size;
        }
        return true;
    }

    /// <summary>Control thread: is this IOVA mapped already?</summary>
    public bool Contains(ulong iova) => Find(_entries, iova) >= 0;

    static int Find(Entry[] entries, ulong iova)
    {
        int lo = 0, hi = entries.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (iova < entries[mid].Iova) hi = mid - 1;
            else if (iova - entries[mid].Iova >= entries[mid].Size) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    bool Miss(ulong iova)
    {
        Volatile.Write(ref _missIova, (long)(iova & 0x7FFF_FFFF_FFFF_FFFF));
        return false;
    }

    /// <summary>An IOVA range the device only reads (as descriptor tables and device-readable buffers are).</summary>
    public bool TryTranslate(ulong address, uint length, out nint local) => TryTranslate(address, length, false, out local);

    /// <summary>
    /// The data path's view: a descriptor's IOVA range, which the entries must map with the permission
    /// the access needs (write for a device-writable buffer), as the vIOMMU granted it. A range mapped
    /// without it is not translated (and not asked about: the front-end's answer would be the same),
    /// so the ring waits on it as on a miss, counted as pending; DPDK's vhost waits the same way.
    /// </summary>
    public bool TryTranslate(ulong address, uint length, bool deviceWrites, out nint local)
    {
        byte perm = deviceWrites ? IotlbMessage.PermWrite : IotlbMessage.PermRead;
        if (TryLookup(address, length, perm, out ulong ua)) return memory().TryTranslateUser(ua, length, out local);
        local = 0;
        return false;
    }

    long _lastSentMiss = -1, _lastSentAt;

    /// <summary>
    /// Control thread: takes the pending miss, if any and if it is not the one just asked about (the
    /// data path keeps missing the same page until the update comes; asking again only doubles work).
    /// </summary>
    public bool TakeMiss(out ulong iova)
    {
        long m = Interlocked.Exchange(ref _missIova, -1);
        iova = (ulong)m;
        if (m < 0) return false;
        long now = Environment.TickCount64;
        if (m == _lastSentMiss && now - _lastSentAt < 20) return false;
        _lastSentMiss = m;
        _lastSentAt = now;
        return true;
    }
}
