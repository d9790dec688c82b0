using Datapath.Hugepages.Native;

namespace Datapath.Engine.Lcores;

/// <summary>
/// Which lcore runs on which CPUs, parsed from DPDK's `-l 0-3`, `-l 0,2` or `--lcores '0@0,1@(1,2)'`.
/// The first lcore is the main lcore (control plane, console); the others are workers.
/// </summary>
public sealed class LcoreMap
{
    public readonly record struct Entry(int Lcore, int[] Cpus)
    {
        public override string ToString() => Cpus.Length == 1 ? $"lcore {Lcore} on CPU {Cpus[0]}" : $"lcore {Lcore} on CPUs {string.Join(",", Cpus)}";
    }

    public IReadOnlyList<Entry> Entries { get; }
    public Entry Main => Entries[0];
    public IEnumerable<Entry> Workers => Entries.Skip(1);

    LcoreMap(List<Entry> entries) => Entries = entries;

    /// <summary>The CPUs this process may run on (its affinity mask).</summary>
    public static int[] AvailableCpus() => Libc.GetAffinity();

    /// <summary>`-l LIST`: lcore i runs on CPU i.</summary>
    public static LcoreMap FromCoreList(string list, IReadOnlyCollection<int>? available = null)
    {
        var entries = ParseIdList(list, "-l").Select(c => new Entry(c, [c])).ToList();
        return Validate(entries, available ?? AvailableCpus(), "-l " + list);
    }

    /// <summary>`--lcores MAP`: comma-separated `lcores[@cpus]` where either side is a number, a range, or a `(group)`.</summary>
    public static LcoreMap FromLcoresOption(string map, IReadOnlyCollection<int>? available = null)
    {
        var entries = new List<Entry>();
        foreach (string item in SplitTopLevel(map))
        {
            string[] sides = item.Split('@');
            if (sides.Length > 2 || sides[0].Length == 0) throw new LcoreConfigException($"--lcores '{map}': cannot read '{item}' (expected LCORE[@CPU], e.g. '0@0,1@1')");
            var lcores = ParseIdList(Unparen(sides[0]), "--lcores");
            var cpus = sides.Length == 2 ? ParseIdList(Unparen(sides[1]), "--lcores") : null;
            foreach (int l in lcores) entries.Add(new Entry(l, cpus?.ToArray() ?? [l]));
        }
        return Validate(entries, available ?? AvailableCpus(), "--lcores " + map);
    }

    static LcoreMap Validate(List<Entry> entries, IReadOnlyCollection<int> available, string option)
    {
        if (entries.Count == 0) throw new LcoreConfigException($"{option}: no lcores given");
        var seen = new HashSet<int>();
        foreach (var e in entries)
        {
            if (e.Lcore >= Lcore.MaxLcores) throw new LcoreConfigException($"{option}: lcore {e.Lcore} is above the maximum {Lcore.MaxLcores - 1}");
            if (!seen.Add(e.Lcore)) throw new LcoreConfigException($"{option}: lcore {e.Lcore} is given twice");
            foreach (int cpu in e.Cpus)
                if (!available.Contains(cpu))
                    throw new LcoreConfigException($"{option}: CPU {cpu} is not available (this process may run on CPUs {FormatList(available)}); pick lcores from those");
        }
        return new LcoreMap(entries);
    }

    static List<int> ParseIdList(string list, string option)
    {
        var ids = new List<int>();
        foreach (string part in list.Split(','))
        {
            string p = part.Trim();
            string[] range = p.Split('-');
            if (range.Length is 1 or 2 && range.All(r => int.TryParse(r, out int v) && v >= 0))
            {
                int lo = int.Parse(range[0]), hi = int.Parse(range[^1]);
                if (hi < lo) throw new LcoreConfigException($"{option}: range '{p}' runs backwards");
                for (int i = lo; i <= hi; i++) ids.Add(i);
            }
            else throw new LcoreConfigException($"{option}: '{p}' is not a CPU number or range (e.g. 0-3 or 0,2)");
        }
        return ids;
    }

    // "0@0,(1,2)@(1,2)" splits at the commas outside parentheses.
    static IEnumerable<string> SplitTopLevel(string s)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '(') depth++;
            else if (s[i] == ')') depth--;
            else if (s[i] == ',' && depth == 0) { yield return s[start..i].Trim(); start = i + 1; }
        }
        yield return s[start..].Trim();
    }

    static string Unparen(string s) => s.StartsWith('(') && s.EndsWith(')') ? s[1..^1] : s;

    public static string FormatList(IEnumerable<int> ids)
    {
        var sorted = ids.OrderBy(x => x).ToList();
        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(j == i ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }

    public override string ToString() => string.Join("; ", Entries);
}
