namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// The regions in the backend's memory table (vhost-user.rst, SET_MEM_TABLE): guest physical address
/// = our virtual address, so a descriptor holds a plain pointer. A buffer outside every region would
/// be unreachable for the backend; tx checks each segment with <see cref="Contains"/> (≤ 8 compares).
/// </summary>
public sealed unsafe class MappedMemory
{
    readonly ulong[] _start;
    readonly ulong[] _end;

    public MappedMemory(IReadOnlyList<(ulong Start, ulong Length)> regions)
    {
        _start = regions.Select(r => r.Start).ToArray();
        _end = regions.Select(r => r.Start + r.Length).ToArray();
    }

    public bool Contains(byte* data, int length)
    {
        ulong a = (ulong)data;
        for (int i = 0; i < _start.Length; i++)
            if (a >= _start[i] && (ulong)length <= _end[i] - a && a <= _end[i]) return true;
        return false;
    }
}
