using System.CommandLine.Parsing;
using System.Globalization;

namespace RxStreams.Cli.Options;

/// <summary>
/// Value parsers shared by the commands. Each reports a bad value as a parse error (exit code 2, with the command's
/// help) instead of throwing, so System.CommandLine can list every mistake at once.
/// </summary>
internal static class OptionParsers
{
    /// <summary>A TCP port, 0 to 65535 (0: any free port, for servers).</summary>
    public static int? Port(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535)
        {
            return port;
        }

        result.AddError($"invalid port '{text}'");
        return null;
    }

    /// <summary>A positive whole number (a count such as <c>--max-connections</c>).</summary>
    public static int? PositiveCount(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count > 0)
        {
            return count;
        }

        string name = result.Parent is OptionResult option ? option.Option.Name : "the option";
        result.AddError($"invalid count '{text}' for {name}: a positive whole number");
        return null;
    }

    /// <summary>A positive number of seconds, fractions allowed (<c>0.5</c>).</summary>
    public static TimeSpan? Seconds(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds)
            && seconds > 0 && seconds < TimeSpan.MaxValue.TotalSeconds)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        string name = result.Parent is OptionResult option ? option.Option.Name : "the option";
        result.AddError($"invalid number of seconds '{text}' for {name}");
        return null;
    }

    /// <summary>A number of seconds that may be 0 (<see cref="TimeSpan.Zero"/>: "no limit"), fractions allowed.</summary>
    public static TimeSpan? SecondsOrZero(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds) && seconds == 0)
        {
            return TimeSpan.Zero;
        }

        return Seconds(result);
    }

    /// <summary><c>[HOST:]PORT</c> where the host may be left out (it is then 127.0.0.1); IPv6 hosts in brackets.</summary>
    public static HostPort? ListenEndPoint(ArgumentResult result) => EndPoint(result, "127.0.0.1");

    /// <summary><c>HOST:PORT</c>, the host required; IPv6 hosts in brackets (<c>[::1]:8080</c>).</summary>
    public static HostPort? RemoteEndPoint(ArgumentResult result) => EndPoint(result, null);

    private static HostPort? EndPoint(ArgumentResult result, string? defaultHost)
    {
        string text = result.Tokens[0].Value;
        int colon = text.LastIndexOf(':');
        if (colon < 0 && defaultHost is null)
        {
            result.AddError($"'{text}' needs a host (HOST:PORT)");
            return null;
        }

        string host = colon < 0 ? defaultHost! : text[..colon].Trim('[', ']');
        string portText = colon < 0 ? text : text[(colon + 1)..];
        if (host.Length == 0 || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            result.AddError($"invalid endpoint '{text}' (expected [HOST:]PORT)");
            return null;
        }

        return new HostPort(host, port);
    }
}

/// <summary>A host name or address with a port, as <c>--listen</c> and <c>--to</c> give them.</summary>
internal sealed record HostPort(string Host, int Port);
