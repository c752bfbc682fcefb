"""Generated protobuf and gRPC stubs of the ``pressureforecast.v1`` contract (do not edit).

Made by ``scripts/gen_proto_stubs.py`` from ``proto/pressureforecast/v1/forecast_service.proto`` with
grpcio-tools; ``tests/test_grpc_stubs.py`` fails when they differ from what the proto gives.
"""
