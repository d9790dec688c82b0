using System.Runtime.CompilerServices;
using System.Threading;

namespace Datapath.Drivers.Virtio;

// Device side of a packed virtqueue, used half: descriptors staged until PublishUsed writes them.
public sealed unsafe partial class PackedVirtqueueDevice
{
    // Used descriptors pushed since the last PublishUsed, in ring order: the slot and the descriptor's
    // last 8 bytes (len | id << 32 | flags << 48, as they lie in the descriptor). A ring's worth: a
    // driver reuses a slot only once it has seen it used. One that offers slots again before that
    // (nothing stops a hostile one) can have more pushed between two publishes; then the staged ones
    // are published early, which is always allowed.
    readonly ushort[] _stagedSlot;
    readonly ulong[] _stagedWord;
    int _staged;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Stage(int slot, ushort id, uint length, ushort flags)
    {
        int n = _staged;
        if (n == _stagedSlot.Length) { WriteStaged(); n = 0; }
        _stagedSlot[n] = (ushort)slot;
        _stagedWord[n] = length | (ulong)id << 32 | (ulong)flags << 48;
        _staged = n + 1;
    }

    /// <summary>
    /// Writes the staged used descriptors, the last first, each as one 8-byte store of len, id and
    /// flags; the first one's store is a release, after all the others (§2.8.9: the driver reads used
    /// descriptors in ring order and stops at the first not yet used, so the batch appears at once).
    /// The driver polls the line of that first slot: written in one run at the end, it changes hands
    /// once per burst; written first, with its flags again at the end, it went to the polling driver
    /// and back between the two. Every other line is written once, and whole (an id, len and flags
    /// stored apart are three stores to a line the driver reads).
    /// </summary>
    void WriteStaged()
    {
        int n = _staged;
        if (n == 0) return;
        PackedDescriptor* desc = _ring.Desc;
        ushort[] slots = _stagedSlot;
        ulong[] words = _stagedWord;
        for (int i = n - 1; i > 0; i--) *UsedWord(desc + slots[i]) = words[i];
        Volatile.Write(ref *UsedWord(desc + slots[0]), words[0]);
        _staged = 0;
    }

    /// <summary>Len, id and flags of a descriptor: its bytes 8-15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong* UsedWord(PackedDescriptor* d) => (ulong*)&d->Len;
}
