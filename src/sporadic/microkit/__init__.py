"""microkit"""
