using Microsoft.AspNetCore.Http;
using Monolith.Host;
using Monolith.Tests.Support;
using Serilog.Events;

namespace Monolith.Tests.Host;

/// <summary>The request line's level: Error for what is a bug, Warning for the bounds' deliberate 503s, Information otherwise.</summary>
[Trait("Category", Categories.Unit)]
public sealed class RequestLogLevelTests
{
    [Theory]
    [InlineData(200, LogEventLevel.Information)]
    [InlineData(404, LogEventLevel.Information)]
    [InlineData(429, LogEventLevel.Information)]
    [InlineData(499, LogEventLevel.Information)]
    [InlineData(500, LogEventLevel.Error)]
    [InlineData(502, LogEventLevel.Error)]
    [InlineData(503, LogEventLevel.Warning)]
    [InlineData(504, LogEventLevel.Error)]
    public void The_status_decides_when_nothing_was_thrown(int status, LogEventLevel expected)
    {
        var context = new DefaultHttpContext { Response = { StatusCode = status } };

        Assert.Equal(expected, Observability.RequestLogLevel(context, exception: null));
    }

    [Fact]
    public void An_unhandled_exception_is_an_error_whatever_the_status_says()
    {
        var context = new DefaultHttpContext { Response = { StatusCode = 503 } };

        Assert.Equal(LogEventLevel.Error, Observability.RequestLogLevel(context, new InvalidOperationException("bug")));
    }

    [Fact]
    public void A_cancellation_thrown_because_the_client_went_away_is_information()
    {
        using var aborted = new CancellationTokenSource();
        aborted.Cancel();
        var context = new DefaultHttpContext { RequestAborted = aborted.Token, Response = { StatusCode = 499 } };

        Assert.Equal(LogEventLevel.Information, Observability.RequestLogLevel(context, new OperationCanceledException(aborted.Token)));
        Assert.Equal(LogEventLevel.Error, Observability.RequestLogLevel(new DefaultHttpContext(), new OperationCanceledException()));
    }
}
