using System.CommandLine;

namespace RxStreams.Cli.Options;

/// <summary>The <c>--listen</c> and <c>--to</c> options of the commands that forward connections (<c>proxy</c>, <c>record</c>).</summary>
internal static class ForwardingOptions
{
    /// <summary><c>--listen [HOST:]PORT</c>: where to accept connections.</summary>
    public static Option<HostPort?> Listen() => new("--listen")
    {
        Description = "Where to listen: [HOST:]PORT (host default 127.0.0.1; IPv6 in brackets)",
        HelpName = "[HOST:]PORT",
        Required = true,
        CustomParser = OptionParsers.ListenEndPoint,
    };

    /// <summary><c>--to HOST:PORT</c>: where to forward each connection.</summary>
    public static Option<HostPort?> To() => new("--to")
    {
        Description = "Where to forward each connection: HOST:PORT",
        HelpName = "HOST:PORT",
        Required = true,
        CustomParser = OptionParsers.RemoteEndPoint,
    };
}
