"""The sandbox's Kubernetes API server (HTTPS REST over the Store)."""
from .node_agent import ContainerUsage, ExecProcess, NodeAgent, NodeUsage, PodUsage, Usage
from .server import ApiServer

__all__ = ["ApiServer", "NodeAgent", "ExecProcess", "Usage", "NodeUsage", "PodUsage", "ContainerUsage"]
