using System.Runtime.CompilerServices;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// Used entries of one burst, kept on the stack and written to the ring together at the end (DPDK's
/// "shadow used ring"). The driver polls the line its next used entry lands in; writing every
/// entry between two frame copies hands that line back and forth once per frame, writing them in
/// one run hands it over once per burst. Entries leave in the order they were added, as pops came
/// (IN_ORDER); only a malformed buffer, returned by the queue itself when popped, can overtake them.
/// </summary>
internal unsafe ref struct UsedBatch
{
    public const int Capacity = 64;
    readonly ushort* _ids;
    readonly uint* _lengths;
    int _count;

    public UsedBatch(ushort* ids, uint* lengths)
    {
        _ids = ids;
        _lengths = lengths;
        _count = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add<TQueue>(TQueue q, ushort id, uint length) where TQueue : struct, IRingOps
    {
        if (_count == Capacity) Flush(q);
        _ids[_count] = id;
        _lengths[_count] = length;
        _count++;
    }

    public void Flush<TQueue>(TQueue q) where TQueue : struct, IRingOps
    {
        for (int i = 0; i < _count; i++) q.PushUsed(_ids[i], _lengths[i]);
        _count = 0;
    }
}
