namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// The dirty-page log for live migration (vhost-user.rst "Migration"; VHOST_F_LOG_ALL): one bit per
/// 4 KiB page of guest physical memory, set for every page the back-end writes (rx buffers, used
/// rings), so the front-end copies it again. Bits are set with an atomic OR: the front-end clears
/// them concurrently while it migrates. Pages beyond the log's end are not logged (the front-end
/// sized it; we never write outside it).
/// </summary>
public sealed unsafe class DirtyLog(byte* log, ulong size)
{
    public const int PageShift = 12;

    public ulong Size { get; } = size;

    public void Mark(ulong gpa, ulong length)
    {
        if (length == 0) return;
        ulong first = gpa >> PageShift, last = (gpa + length - 1) >> PageShift;
        for (ulong page = first; page <= last; page++)
        {
            ulong index = page >> 3;
            if (index >= Size) return;
            // OR one bit into the aligned 32-bit word that holds the byte (there is no byte-wide atomic OR).
            ulong word = index & ~3UL;
            if (word + 4 > Size) return;
            int shift = (int)((index & 3) * 8 + (page & 7));
            Interlocked.Or(ref *(uint*)(log + word), 1u << shift);
        }
    }
}
