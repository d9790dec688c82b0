using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// One frame's bytes between a peer's buffer and a packet (never overlapping), inline, in 32-byte moves:
/// a call into the general memmove, with its size dispatch, cost as much as a 64-byte copy; and any
/// call in a burst's frame loop, even one on a path never taken, makes the JIT keep the loop's values
/// on the stack (caller-saved registers do not survive it), loaded and stored again for every frame.
/// Nothing outside [0, length) is touched.
/// </summary>
internal static unsafe class FrameCopy
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(byte* destination, byte* source, nuint length)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            Buffer.MemoryCopy(source, destination, length, length);
            return;
        }
        if (length >= 32)
        {
            // 32 to 128 bytes (the 64-byte frames of a packet-rate test): two or four overlapping
            // moves, every load before the stores.
            if (length <= 128)
            {
                var head = Vector256.Load(source);
                var tail = Vector256.Load(source + length - 32);
                if (length > 64)
                {
                    var second = Vector256.Load(source + 32);
                    var beforeTail = Vector256.Load(source + length - 64);
                    second.Store(destination + 32);
                    beforeTail.Store(destination + length - 64);
                }
                head.Store(destination);
                tail.Store(destination + length - 32);
                return;
            }
            // 32 bytes at a time, then the last 32 (overlapping what the loop copied: no byte tail).
            nuint last = length - 32;
            for (nuint i = 0; i < last; i += 32) Vector256.Load(source + i).Store(destination + i);
            Vector256.Load(source + last).Store(destination + last);
            return;
        }
        // Runts: two overlapping moves of the widest size that fits, or bytes.
        if (length >= 16)
        {
            var head = Vector128.Load(source);
            var tail = Vector128.Load(source + length - 16);
            head.Store(destination);
            tail.Store(destination + length - 16);
        }
        else if (length >= 8)
        {
            ulong head = Unsafe.ReadUnaligned<ulong>(source), tail = Unsafe.ReadUnaligned<ulong>(source + length - 8);
            Unsafe.WriteUnaligned(destination, head);
            Unsafe.WriteUnaligned(destination + length - 8, tail);
        }
        else
        {
            for (nuint i = 0; i < length; i++) destination[i] = source[i];
        }
    }
}
