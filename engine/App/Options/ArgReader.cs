namespace Datapath.App.Options;

/// <summary>Walks `-x VALUE`, `--opt VALUE` and `--opt=VALUE` arguments.</summary>
internal sealed class ArgReader(IReadOnlyList<string> args)
{
    int _i;

    public bool Next(out string option, out string? inline)
    {
        inline = null;
        option = "";
        if (_i >= args.Count) return false;
        string a = args[_i++];
        if (!a.StartsWith('-')) throw new UsageException($"unexpected argument '{a}' (options start with -)");
        int eq = a.IndexOf('=');
        if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0) { option = a[..eq]; inline = a[(eq + 1)..]; }
        else option = a;
        return true;
    }

    public string Value(string option, string? inline)
    {
        if (inline is not null) return inline;
        if (_i >= args.Count) throw new UsageException($"{option} needs a value");
        return args[_i++];
    }

    public int Int(string option, string? inline, int min, int max)
    {
        string v = Value(option, inline);
        if (!int.TryParse(v, out int n)) throw new UsageException($"{option} {v}: not a number");
        if (n < min || n > max) throw new UsageException($"{option} {v}: out of range ({min}..{max})");
        return n;
    }

    /// <summary>An optional value: the next argument unless it is another option.</summary>
    public string? Optional(string? inline)
    {
        if (inline is not null) return inline;
        if (_i < args.Count && !args[_i].StartsWith('-')) return args[_i++];
        return null;
    }
}
