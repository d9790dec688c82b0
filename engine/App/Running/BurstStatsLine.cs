namespace Datapath.App.Running;

/// <summary>
/// testpmd's burst statistics line: "  RX-bursts : 3507979 [16% of 0 pkts + 83% of 32 pkts + 0% of 3 pkts + 1% of other]".
/// The empty bursts always come first, then the two sizes seen most often (the smaller size first
/// on a tie); each share is rounded down, and what they leave is "other". The list ends early, with
/// the rest of 100%, once the sizes shown account for every burst.
/// </summary>
public static class BurstStatsLine
{
    /// <summary>The line for <paramref name="spread"/> (bursts per size), or null when there were none.</summary>
    public static string? Format(string direction, ReadOnlySpan<ulong> spread)
    {
        if (spread.Length == 0) return null;
        ulong total = spread[0];
        Span<int> size = [0, 0, 0];
        Span<ulong> count = [spread[0], 0, 0];
        for (int n = 1; n < spread.Length; n++)
        {
            ulong c = spread[n];
            if (c == 0) continue;
            total += c;
            if (c > count[1]) { count[2] = count[1]; size[2] = size[1]; count[1] = c; size[1] = n; }
            else if (c > count[2]) { count[2] = c; size[2] = n; }
        }
        if (total == 0) return null;

        var line = new System.Text.StringBuilder($"  {direction}-bursts : {total} [");
        ulong shown = 0;
        int percent = 0;
        for (int i = 0; i < 3; i++)
        {
            shown += count[i];
            if (shown == total) return line.Append($"{100 - percent}% of {size[i]} pkts]").ToString();
            int p = (int)(count[i] * 100 / total);
            line.Append($"{p}% of {size[i]} pkts + ");
            percent += p;
        }
        return line.Append($"{100 - percent}% of other]").ToString();
    }
}
